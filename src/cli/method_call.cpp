#include "method_call.h"

#include "idl/parser.h"
#include "idl/versions.h"

namespace liteipc::cli {
namespace {

constexpr uint32_t kIntrospectCode = 0x5F4E5446;  // liteipc::idl::kIntrospectCode

// The `call` type of an IDL type the command line can write and read; empty for the others.
std::string call_type(const idl::Type& type) {
    switch (type.kind) {
        case idl::TypeKind::boolean: return "b";
        case idl::TypeKind::byte: return "i8";
        case idl::TypeKind::short_type: return "i16";
        case idl::TypeKind::int_type: return "i32";
        case idl::TypeKind::long_type: return "i64";
        case idl::TypeKind::float_type: return "f32";
        case idl::TypeKind::double_type: return "f64";
        case idl::TypeKind::string: return "s";
        default: return {};
    }
}

std::string methods_of(const idl::Document& document) {
    std::string out;
    for (const auto& m : document.interface.methods) out += (out.empty() ? "" : ", ") + m.name;
    return out;
}

}  // namespace

Result<ResolvedCall> resolve_method(Connection& connection, const std::string& method,
                                    const std::vector<std::string>& values) {
    Request request(connection);
    auto reply = connection.call(kIntrospectCode, request);
    if (!reply) return std::unexpected(reply.error());
    Reader reader = reply->reader();
    const std::string_view text = reader.read_string_view();
    if (reply->status() != 0 || !reader.ok())
        return fail(Errc::invalid_argument, "CODE must be a number: the service publishes no interface "
                                            "(it is not served by a liteipc-idl stub)");
    auto document = idl::parse(text, "published.idl");
    if (!document) return fail(Errc::malformed, "its published interface: " + document.error().describe());
    const auto& methods = document->interface.methods;
    for (size_t i = 0; i < methods.size(); ++i) {
        const idl::Method& m = methods[i];
        if (m.name != method) continue;
        ResolvedCall out{static_cast<uint32_t>(i + 1), m.oneway, {}, {}};
        const std::string signature = idl::qualified_name(document->interface) + "." + m.name;
        if (m.result.kind != idl::TypeKind::void_type) out.reply_types.push_back(call_type(m.result));
        size_t next = 0;
        for (const auto& p : m.parameters) {
            const std::string type = call_type(p.type);
            if (type.empty())
                return fail(Errc::invalid_argument, signature + ": parameter " + p.name + " is " + idl::type_text(p.type) +
                                                        ", which the command line cannot write: use a generated proxy");
            if (p.direction != idl::Direction::in) out.reply_types.push_back(type);
            if (p.direction == idl::Direction::out) continue;
            if (next >= values.size()) break;
            out.arguments.push_back(type + ":" + values[next++]);
        }
        size_t wanted = 0;
        for (const auto& p : m.parameters) wanted += p.direction != idl::Direction::out;
        if (values.size() != wanted)
            return fail(Errc::invalid_argument, signature + " takes " + std::to_string(wanted) + " values, not " +
                                                    std::to_string(values.size()));
        for (const auto& type : out.reply_types)
            if (type.empty())
                return fail(Errc::invalid_argument, signature + " answers a value the command line cannot read: "
                                                                "use a generated proxy");
        return out;
    }
    return fail(Errc::invalid_argument, "no method " + method + " in " + idl::qualified_name(document->interface) +
                                     " (its methods: " + methods_of(*document) + ")");
}

}  // namespace liteipc::cli
