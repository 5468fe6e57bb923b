#include "call_command.h"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "liteipc/context.h"
#include "liteipc/ipc.h"
#include "method_call.h"

namespace liteipc::cli {
namespace {

using json = nlohmann::ordered_json;

template <typename T>
bool parse_number(std::string_view text, T& out) {
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return error == std::errc{} && end == text.data() + text.size();
}

// Writes one TYPE:VALUE argument; false (with `why`) when it is not one.
bool write_argument(Writer& writer, const std::string& argument, std::string& why) {
    auto colon = argument.find(':');
    if (colon == std::string::npos) {
        why = "'" + argument + "' is not TYPE:VALUE";
        return false;
    }
    std::string type = argument.substr(0, colon);
    std::string_view value = std::string_view(argument).substr(colon + 1);
    auto bad = [&] {
        why = "'" + std::string(value) + "' is not a " + type;
        return false;
    };
    if (type == "s") {
        writer.write_string(value);
    } else if (type == "b") {
        if (value != "true" && value != "false") return bad();
        writer.write_bool(value == "true");
    } else if (type == "i8" || type == "i16" || type == "i32" || type == "i64") {
        int64_t v;
        if (!parse_number(value, v)) return bad();
        const int bits = std::stoi(type.substr(1));
        if (bits < 64 && (v < -(int64_t{1} << (bits - 1)) || v >= (int64_t{1} << (bits - 1)))) return bad();
        if (bits == 8) writer.write_int8(static_cast<int8_t>(v));
        else if (bits == 16) writer.write_int16(static_cast<int16_t>(v));
        else if (bits == 32) writer.write_int32(static_cast<int32_t>(v));
        else writer.write_int64(v);
    } else if (type == "u8" || type == "u16" || type == "u32" || type == "u64") {
        uint64_t v;
        if (!parse_number(value, v)) return bad();
        const int bits = std::stoi(type.substr(1));
        if (bits < 64 && v >= (uint64_t{1} << bits)) return bad();
        if (bits == 8) writer.write_uint8(static_cast<uint8_t>(v));
        else if (bits == 16) writer.write_uint16(static_cast<uint16_t>(v));
        else if (bits == 32) writer.write_uint32(static_cast<uint32_t>(v));
        else writer.write_uint64(v);
    } else if (type == "f64" || type == "f32") {
        double v;
        if (!parse_number(value, v)) return bad();
        if (type == "f32") writer.write_float(static_cast<float>(v));
        else writer.write_double(v);
    } else {
        why = "unknown type '" + type + "' (s, b, i8..i64, u8..u64, f32, f64)";
        return false;
    }
    return writer.ok() || (why = writer.error_reason(), false);
}

// Reads one field of `type` from the reply, as JSON.
bool read_field(Reader& reader, const std::string& type, json& out) {
    if (type == "s") out = std::string(reader.read_string_view());
    else if (type == "b") out = reader.read_bool();
    else if (type == "i8") out = reader.read_int8();
    else if (type == "i16") out = reader.read_int16();
    else if (type == "i32") out = reader.read_int32();
    else if (type == "i64") out = reader.read_int64();
    else if (type == "u8") out = reader.read_uint8();
    else if (type == "u16") out = reader.read_uint16();
    else if (type == "u32") out = reader.read_uint32();
    else if (type == "u64") out = reader.read_uint64();
    else if (type == "f32") out = reader.read_float();
    else if (type == "f64") out = reader.read_double();
    else return false;
    return reader.ok();
}

// Exit statuses of liteipc(1) for a failed call.
int fail_with(const char* command, const Error& error) {
    std::fprintf(stderr, "liteipc: %s: %s\n", command, error.describe().c_str());
    switch (error.code) {
        case Errc::loader_unavailable: return 3;
        case Errc::permission_denied: return 4;
        case Errc::not_found: return 5;
        default: return 1;
    }
}

}  // namespace

int run_introspect(const CallCommandOptions& options) {
    auto context = open_context(options.address, options.timeout);
    if (!context) return fail_with("introspect", context.error());
    auto connection = Connection::open(*context, options.service);
    if (!connection) return fail_with("introspect", connection.error());
    Request request(*connection);
    constexpr uint32_t kIntrospectCode = 0x5F4E5446;  // liteipc::idl::kIntrospectCode
    auto reply = connection->call(kIntrospectCode, request);
    if (!reply) return fail_with("introspect", reply.error());
    Reader reader = reply->reader();
    const std::string idl(reader.read_string_view());
    const uint64_t hash = reader.read_uint64();
    if (reply->status() != 0 || !reader.ok()) {
        std::fprintf(stderr, "liteipc: introspect: %s publishes no interface (status %d): its stub was not generated "
                     "by liteipc-idl\n", options.service.c_str(), reply->status());
        return 1;
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    if (options.json) {
        std::printf("%s\n", json({{"introspect", {{"service", options.service}, {"hash", hex}, {"idl", idl}}}})
                                .dump(-1, ' ', false, json::error_handler_t::replace)
                                .c_str());
        return 0;
    }
    std::printf("// served as %s, interface hash %s\n%s", options.service.c_str(), hex, idl.c_str());
    return 0;
}


int run_call(const CallCommandOptions& options) {
    uint32_t code = 0;
    const bool by_number = parse_number(std::string_view(options.code), code);
    const bool by_name = !by_number && !options.code.empty() && std::isalpha(static_cast<unsigned char>(options.code[0]));
    if (!by_number && !by_name) {
        std::fprintf(stderr, "liteipc: call: CODE must be a number from 0 to 4294967295 or a method's name, not '%s'\n",
                     options.code.c_str());
        return 2;
    }
    if (by_name && !options.reply_types.empty()) {
        std::fprintf(stderr, "liteipc: call: --reply goes with a CODE; a method's interface names its reply\n");
        return 2;
    }
    std::vector<std::string> reply_types;
    for (std::stringstream list(options.reply_types); list.good();) {
        std::string type;
        std::getline(list, type, ',');
        if (!type.empty()) reply_types.push_back(type);
    }
    auto context = open_context(options.address, options.timeout);
    if (!context) return fail_with("call", context.error());
    auto connection = Connection::open(*context, options.service);
    if (!connection) return fail_with("call", connection.error());
    std::vector<std::string> arguments = options.arguments;
    if (by_name) {
        // The interface the service publishes gives the code and types the values.
        auto resolved = resolve_method(*connection, options.code, options.arguments);
        if (!resolved) return resolved.error().code == Errc::invalid_argument ? (fail_with("call", resolved.error()), 2)
                                                                             : fail_with("call", resolved.error());
        code = resolved->code;
        arguments = resolved->arguments;
        reply_types = resolved->reply_types;
        if (resolved->oneway) {
            Request request(*connection);
            std::string why;
            for (const auto& argument : arguments)
                if (!write_argument(request.writer(), argument, why)) {
                    std::fprintf(stderr, "liteipc: call: %s\n", why.c_str());
                    return 2;
                }
            if (auto sent = connection->send(code, request); !sent) return fail_with("call", sent.error());
            std::printf("sent %s (oneway, code %u)\n", options.code.c_str(), code);
            return 0;
        }
    }
    Request request(*connection);
    for (const auto& argument : arguments) {
        std::string why;
        if (!write_argument(request.writer(), argument, why)) {
            std::fprintf(stderr, "liteipc: call: %s\n", why.c_str());
            return 2;
        }
    }
    auto reply = connection->call(code, request);
    if (!reply) return fail_with("call", reply.error());

    json fields = json::array();
    Reader reader = reply->reader();
    for (const auto& type : reply_types) {
        json field;
        if (!read_field(reader, type, field)) {
            std::fprintf(stderr, "liteipc: call: the reply has no %s field here (%s)\n", type.c_str(),
                         reader.ok() ? "unknown type" : reader.error_reason());
            return 1;
        }
        fields.push_back({{"type", type}, {"value", field}});
    }
    const auto payload = reply->reader().remaining();
    if (options.json) {
        std::printf("%s\n", json({{"call", {{"service", options.service},
                                            {"code", code},
                                            {"status", reply->status()},
                                            {"reply_bytes", payload},
                                            {"fields", fields}}}})
                                .dump(-1, ' ', false, json::error_handler_t::replace)
                                .c_str());
        return 0;
    }
    std::printf("status %d, %zu reply bytes\n", reply->status(), payload);
    for (const auto& f : fields) std::printf("%-4s %s\n", f["type"].get<std::string>().c_str(), f["value"].dump().c_str());
    return 0;
}

}  // namespace liteipc::cli
