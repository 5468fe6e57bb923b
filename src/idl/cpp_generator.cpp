#include "idl/cpp_generator.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <map>

#include "idl/versions.h"

namespace liteipc::idl {

std::string snake_case(const std::string& name) {
    std::string out;
    for (size_t i = 0; i < name.size(); ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        const bool boundary = i > 0 && std::isupper(c) &&
                              (std::islower(static_cast<unsigned char>(name[i - 1])) ||
                               std::isdigit(static_cast<unsigned char>(name[i - 1])));
        if (boundary) out += '_';
        out += static_cast<char>(std::tolower(c));
    }
    return out;
}

namespace {

std::string joined(const std::vector<std::string>& parts, const std::string& separator) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? separator : "") + parts[i];
    return out;
}

// "IGreeter" -> "Greeter": the proxy and stub names drop the interface's I prefix.
std::string base_name(const std::string& name) {
    if (name.size() > 1 && name[0] == 'I' && std::isupper(static_cast<unsigned char>(name[1]))) return name.substr(1);
    return name;
}

class CppWriter {
public:
    CppWriter(const Document& document, const Lineage& lineage, bool topic)
        : doc_(document), interface_(document.interface), lineage_(lineage), topic_(topic) {
        for (const auto& s : doc_.sequenceables) cpp_names_[s.name] = qualified(s.name_space, s.name);
        for (const auto& d : doc_.declarations) cpp_names_[d.name] = qualified(d.name_space, d.name);
        cpp_names_[interface_.name] = qualified(interface_.name_space, interface_.name);
        proxy_ = base_name(interface_.name) + "Proxy";
        stub_ = base_name(interface_.name) + "Stub";
        topic_publisher_ = base_name(interface_.name) + "TopicPublisher";
        topic_subscriber_ = base_name(interface_.name) + "TopicSubscriber";
        descriptor_ = qualified_name(interface_);
    }

    GeneratedFiles files() {
        GeneratedFiles out;
        // Named after the file, as upstream names .idl files after their interface.
        std::string stem = doc_.file.substr(doc_.file.find_last_of('/') + 1);
        stem = snake_case(stem.substr(0, stem.find('.')));
        out.header_name = stem + ".h";
        out.source_name = stem + ".cpp";
        out.header = header();
        out.source = source(out.header_name);
        return out;
    }

private:
    static std::string qualified(const std::vector<std::string>& name_space, const std::string& name) {
        return name_space.empty() ? "::" + name : "::" + joined(name_space, "::") + "::" + name;
    }

    std::string value_type(const Type& type) const {
        if (const char* name = primitive_name(type.kind)) return name;
        switch (type.kind) {
            case TypeKind::void_type: return "void";
            case TypeKind::string: return "std::string";
            case TypeKind::file_descriptor: return "liteipc::idl::FileDescriptor";
            case TypeKind::array:
                if (type.element[0].kind == TypeKind::byte) return "std::vector<uint8_t>";
                return "std::vector<" + value_type(type.element[0]) + ">";
            case TypeKind::list: return "std::vector<" + value_type(type.element[0]) + ">";
            case TypeKind::map:
                return "std::unordered_map<" + value_type(type.element[0]) + ", " + value_type(type.element[1]) + ">";
            case TypeKind::sequenceable: return cpp_names_.at(type.name);
            case TypeKind::interface: return "liteipc::idl::ServiceRef<" + cpp_names_.at(type.name) + ">";
            default: break;  // the primitives, named above
        }
        return "void";
    }
    static bool is_scalar(const Type& type) {
        return type.kind != TypeKind::string && type.kind != TypeKind::array && type.kind != TypeKind::list &&
               type.kind != TypeKind::map && type.kind != TypeKind::sequenceable && type.kind != TypeKind::interface;
    }
    static bool is_byte_array(const Type& type) {
        return type.kind == TypeKind::array && type.element[0].kind == TypeKind::byte;
    }
    // How a parameter is passed: [in] scalars by value, byte[] as a view read in place, other
    // [in] values by const reference, [out] and [inout] by reference.
    std::string parameter_type(const Parameter& p) const {
        if (p.direction != Direction::in) return value_type(p.type) + "&";
        if (is_byte_array(p.type)) return "liteipc::idl::ByteView";
        if (is_scalar(p.type)) return value_type(p.type);
        return "const " + value_type(p.type) + "&";
    }
    std::string result_type(const Method& m) const {
        return m.result.kind == TypeKind::void_type ? "liteipc::Result<>" : "liteipc::Result<" + value_type(m.result) + ">";
    }
    std::string parameters(const Method& m) const {
        std::string out;
        for (const auto& p : m.parameters) out += (out.empty() ? "" : ", ") + parameter_type(p) + " " + p.name;
        return out;
    }
    std::string arguments(const Method& m) const {
        std::string out;
        for (const auto& p : m.parameters) out += (out.empty() ? "" : ", ") + p.name;
        return out;
    }
    static bool has_out(const Method& m) {
        return std::any_of(m.parameters.begin(), m.parameters.end(),
                           [](const Parameter& p) { return p.direction != Direction::in; });
    }
    // Asynchronous variants for two-way methods whose results all come back in the result.
    static bool has_async(const Method& m) { return !m.oneway && !has_out(m); }
    std::string label(const Method& m) const { return descriptor_ + "." + m.name; }
    std::string pending_type(const Method& m) const {
        const std::string value = m.result.kind == TypeKind::void_type ? "void" : value_type(m.result);
        return "liteipc::idl::Pending<" + value + ", &" + proxy_ + "::decode_" + m.name + ">";
    }

    std::string includes() const {
        std::string out =
            "#include <cstdint>\n#include <string>\n#include <string_view>\n#include <unordered_map>\n"
            "#include <vector>\n\n#include <liteipc/idl.h>\n";
        if (topic_) out += "#include <liteipc/idl_topic.h>\n";
        for (const auto& s : doc_.sequenceables) {
            std::string path = joined(s.include_dir, "/");
            out += "#include \"" + (path.empty() ? "" : path + "/") + snake_case(s.name) + ".h\"\n";
        }
        return out;
    }
    std::string open_namespace() const {
        std::string out;
        for (const auto& part : interface_.name_space) out += "namespace " + part + " {\n";
        return out.empty() ? "" : out + "\n";
    }
    std::string close_namespace() const {
        std::string out;
        for (auto part = interface_.name_space.rbegin(); part != interface_.name_space.rend(); ++part)
            out += "}  // namespace " + *part + "\n";
        return out.empty() ? "" : "\n" + out;
    }
    std::string forward_declarations() const {
        std::string out;
        for (const auto& d : doc_.declarations) {
            if (d.name == interface_.name) continue;
            std::string line = "class " + d.name + ";";
            for (auto part = d.name_space.rbegin(); part != d.name_space.rend(); ++part)
                line = "namespace " + *part + " { " + line + " }";
            out += line + "\n";
        }
        return out.empty() ? "" : out + "\n";
    }

    std::string header() const {
        std::string h = "// Generated by liteipc-idl from " + doc_.file + ": do not edit.\n#pragma once\n\n" + includes() + "\n";
        h += forward_declarations() + open_namespace();
        // The interface class.
        h += "// " + descriptor_ + ": the methods both sides share.\nclass " + interface_.name + " {\npublic:\n";
        h += "    static constexpr std::string_view kDescriptor = \"" + descriptor_ + "\";\n";
        char hash[19];
        std::snprintf(hash, sizeof hash, "0x%016llx", static_cast<unsigned long long>(interface_hash(doc_)));
        h += "    // The hash of this version's canonical form (liteipc-idl --freeze).\n";
        h += "    static constexpr uint64_t kInterfaceHash = " + std::string(hash) + "ull;\n";
        std::snprintf(hash, sizeof hash, "0x%016llx", static_cast<unsigned long long>(lineage_.contract_hash));
        h += "    // What a proxy names at connect, and the kernel holds the service to: the hash of the first\n"
             "    // frozen version, shared by every version that only appends methods.\n";
        h += "    static constexpr uint64_t kContractHash = " + std::string(hash) + "ull;\n";
        h += "    // The frozen version this is (liteipc-idl --versions); 0: not frozen.\n";
        h += "    static constexpr uint32_t kVersion = " + std::to_string(lineage_.version) + ";\n";
        h += "    // That canonical form: what `liteipc introspect` prints.\n";
        h += "    static constexpr std::string_view kIdl = R\"idl(" + canonical_form(doc_) + ")idl\";\n";
        h += "    // Method codes: declaration order, from 1. Append methods, never reorder them.\n";
        h += "    enum class Code : uint32_t {\n";
        for (size_t i = 0; i < interface_.methods.size(); ++i)
            h += "        " + interface_.methods[i].name + " = " + std::to_string(i + 1) + ",\n";
        h += "    };\n\n    virtual ~" + interface_.name + "() = default;\n";
        for (const auto& m : interface_.methods)
            h += "    virtual " + result_type(m) + " " + m.name + "(" + parameters(m) + ") = 0;\n";
        h += "};\n\n";
        // The proxy.
        h += "// Calls a service of " + descriptor_ + " over a liteipc::Connection.\n";
        h += "class " + proxy_ + " final : public " + interface_.name + " {\npublic:\n";
        h += "    static liteipc::Result<" + proxy_ + "> open(liteipc::Context& context, std::string_view service_name,\n"
             "                                       liteipc::ConnectOptions options = {});\n";
        h += "    // A service passed by reference in a message.\n";
        h += "    static liteipc::Result<" + proxy_ + "> open(liteipc::Context& context, liteipc::idl::ServiceRef<" +
             interface_.name + "> service,\n                                       liteipc::ConnectOptions options = {});\n";
        h += "    // `token`: the object a reference names within its service (a C stub's local object).\n";
        h += "    explicit " + proxy_ + "(liteipc::Connection connection, uint32_t token = 0)\n"
             "        : connection_(std::move(connection)), token_(token) {}\n\n";
        h += "    // The wait of each call (0: the context's default).\n";
        h += "    void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }\n";
        h += "    liteipc::Connection& connection() { return connection_; }\n\n";
        // Declared before the methods whose Pending names them.
        if (std::any_of(interface_.methods.begin(), interface_.methods.end(), has_async)) {
            h += "    // Turn an asynchronous call's reply into its result.\n";
            for (const auto& m : interface_.methods)
                if (has_async(m)) h += "    static " + result_type(m) + " decode_" + m.name + "(liteipc::Result<liteipc::Reply> reply_);\n";
            h += "\n";
        }
        h += "    // Each method as a call; NameAsync publishes it and returns a typed Pending to wait on.\n";
        for (const auto& m : interface_.methods) {
            h += "    " + result_type(m) + " " + m.name + "(" + parameters(m) + ") override;\n";
            if (has_async(m))
                h += "    liteipc::Result<" + pending_type(m) + "> " + m.name + "Async(" + parameters(m) + ");\n";
        }
        h += "\nprivate:\n    liteipc::Connection connection_;\n    uint32_t token_ = 0;\n"
             "    std::chrono::milliseconds timeout_{0};\n};\n\n";
        // The stub.
        h += "// Serves " + descriptor_ + ": subclass it, implement the methods, then serve().\n";
        h += "// The methods run on the service's worker threads (several at once with workers > 1).\n";
        h += "class " + stub_ + " : public " + interface_.name + " {\npublic:\n";
        h += "    // Registers the service; destroy the returned Service before this object.\n";
        h += "    liteipc::Result<liteipc::Service> serve(liteipc::Context& context, liteipc::ServiceOptions options);\n";
        h += "    // One call: reads the request, runs the method, writes the reply; returns the status.\n";
        h += "    int32_t dispatch(liteipc::Call& call);\n";
        if (topic_) {
            h += "    // One request's method on `implementation`: what dispatch and " + topic_subscriber_ + " run.\n";
            h += "    static int32_t dispatch_request(" + interface_.name +
                 "& implementation, uint32_t code, liteipc::Reader& request);\n";
        }
        h += "};\n";
        if (topic_) h += topic_classes();
        h += close_namespace();
        return h;
    }

    static std::string listed(const std::vector<std::string>& names) {
        std::string out;
        for (const auto& name : names) out += ", " + name;
        return out;
    }
    std::string value_or_void(const Type& type) const {
        return type.kind == TypeKind::void_type ? "void" : value_type(type);
    }

    // The request: in and inout values in order.
    static std::vector<std::string> sent_names(const Method& m) {
        std::vector<std::string> names;
        for (const auto& p : m.parameters)
            if (p.direction != Direction::out) names.push_back(p.name);
        return names;
    }
    std::string request_values(const Method& m) const {
        const auto names = sent_names(m);
        std::string out = "    liteipc::Request request_(connection_);\n    request_.set_token(token_);\n";
        if (!names.empty()) out += "    liteipc::idl::write_all(request_.writer()" + listed(names) + ");\n";
        return out;
    }

    std::string proxy_methods() const {
        std::string s;
        for (const auto& m : interface_.methods) {
            const std::string code = "static_cast<uint32_t>(Code::" + m.name + ")";
            const std::string read = "liteipc::idl::read_reply<" + value_or_void(m.result) + ">(";
            s += result_type(m) + " " + proxy_ + "::" + m.name + "(" + parameters(m) + ") {\n" + request_values(m);
            if (m.oneway) {
                s += "    return connection_.send(" + code + ", request_, timeout_);\n}\n\n";
                continue;
            }
            std::vector<std::string> outs;
            for (const auto& p : m.parameters)
                if (p.direction != Direction::in) outs.push_back(p.name);
            s += "    return " + read + "connection_.call(" + code + ", request_, timeout_), \"" + label(m) + "\"" +
                 listed(outs) + ");\n}\n\n";
            if (!has_async(m)) continue;
            s += "liteipc::Result<" + pending_type(m) + "> " + proxy_ + "::" + m.name + "Async(" + parameters(m) + ") {\n" +
                 request_values(m);
            s += "    return " + pending_type(m) + "::from(connection_.call_async(" + code + ", request_, timeout_));\n}\n\n";
            s += result_type(m) + " " + proxy_ + "::decode_" + m.name + "(liteipc::Result<liteipc::Reply> reply_) {\n";
            s += "    return " + read + "std::move(reply_), \"" + label(m) + "\");\n}\n\n";
        }
        return s;
    }

    // `callee`: where the method runs ("" in the stub itself, "implementation_." in dispatch_request).
    std::string stub_case(const Method& m, const std::string& callee) const {
        const std::string indent = "        ";
        std::string s = "    case Code::" + m.name + ": {\n";
        std::vector<std::string> reads, writes;
        if (m.result.kind != TypeKind::void_type) writes.push_back("*result_");
        for (const auto& p : m.parameters) {
            const std::string type = p.direction == Direction::in && is_byte_array(p.type) ? "liteipc::idl::ByteView"
                                                                                           : value_type(p.type);
            s += indent + type + " " + p.name + "{};\n";
            if (p.direction != Direction::out) reads.push_back(p.name);
            if (p.direction != Direction::in) writes.push_back(p.name);
        }
        if (!reads.empty())
            s += indent + "if (!liteipc::idl::read_all(r_" + listed(reads) + "))\n" + indent +
                 "    return liteipc::idl::malformed_request(r_, \"" + label(m) + "\");\n";
        s += indent + "auto result_ = " + callee + m.name + "(" + arguments(m) + ");\n";
        s += indent + "if (!result_) return liteipc::idl::status_of(result_.error());\n";
        if (writes.empty() || m.oneway) return s + indent + "return 0;\n    }\n";
        return s + indent + "return liteipc::idl::reply_with(call_.reply(), \"" + label(m) + "\"" + listed(writes) +
               ");\n    }\n";
    }

    std::string source(const std::string& header_name) const {
        std::string s = "// Generated by liteipc-idl from " + doc_.file + ": do not edit.\n#include \"" + header_name + "\"\n\n";
        s += "#include <utility>\n\n" + open_namespace();
        s += "liteipc::Result<" + proxy_ + "> " + proxy_ + "::open(liteipc::Context& context, std::string_view service_name,\n"
             "                                       liteipc::ConnectOptions options) {\n";
        s += "    options.contract_hash = kContractHash;  // the kernel refuses a service of another interface\n";
        s += "    auto connection = liteipc::Connection::open(context, service_name, options);\n";
        s += "    if (!connection) return std::unexpected(connection.error());\n";
        s += "    return " + proxy_ + "(std::move(*connection));\n}\n\n";
        s += "liteipc::Result<" + proxy_ + "> " + proxy_ + "::open(liteipc::Context& context, liteipc::idl::ServiceRef<" +
             interface_.name + "> service,\n                                       liteipc::ConnectOptions options) {\n";
        s += "    options.contract_hash = kContractHash;\n";
        s += "    auto connection = liteipc::Connection::open(context, service.identity.handle, options);\n";
        s += "    if (!connection) return std::unexpected(connection.error());\n";
        s += "    return " + proxy_ + "(std::move(*connection), service.identity.token);\n}\n\n";
        s += proxy_methods();
        s += "liteipc::Result<liteipc::Service> " + stub_ + "::serve(liteipc::Context& context, liteipc::ServiceOptions options) {\n";
        s += "    options.interface = {std::string(kDescriptor), kInterfaceHash, kContractHash, kVersion};\n";
        s += "    return liteipc::Service::start(context, std::move(options), [this](liteipc::Call& call) { return dispatch(call); });\n}\n\n";
        s += "int32_t " + stub_ + "::dispatch(liteipc::Call& call_) {\n";
        if (!topic_) s += "    [[maybe_unused]] liteipc::Reader& r_ = call_.request();\n";
        s += "    const liteipc::idl::CallScope scope_(call_);  // liteipc::idl::current_call() in the methods\n";
        s += "    if (call_.code() == liteipc::idl::kIntrospectCode)\n";
        s += "        return liteipc::idl::introspection_reply(call_.reply(), kIdl, kInterfaceHash);\n";
        if (!topic_) return s + method_switch("call_.code()", "") + "}\n" + close_namespace();
        s += "    return dispatch_request(*this, call_.code(), call_.request());\n}\n\n";
        s += "int32_t " + stub_ + "::dispatch_request(" + interface_.name +
             "& implementation_, uint32_t code_, liteipc::Reader& r_) {\n";
        s += method_switch("code_", "implementation_.") + "}\n\n";
        return s + topic_methods() + close_namespace();
    }

    // A request's method by its code, then unknown_method for any other code.
    std::string method_switch(const std::string& code, const std::string& callee) const {
        std::string s = "    switch (static_cast<Code>(" + code + ")) {\n";
        for (const auto& m : interface_.methods) s += stub_case(m, callee);
        return s + "    }\n    return liteipc::idl::unknown_method(" + code + ", \"" + descriptor_ + "\");\n";
    }

    // --topic: a publisher that implements the interface by publishing each call, and a subscriber
    // that runs each sample's call on the user's implementation through the stub's dispatch_request.
    std::string topic_classes() const {
        const std::string& publisher = topic_publisher_;
        const std::string& subscriber = topic_subscriber_;
        std::string h = "\n// Publishes each call of " + descriptor_ + " on a topic (liteipc/topic.h): every " + subscriber +
                        "\n// runs it, in the order published. A call is one sample, written in place (liteipc/idl_topic.h).\n";
        h += "class " + publisher + " final : public " + interface_.name + " {\npublic:\n";
        h += "    static liteipc::Result<" + publisher + "> create(liteipc::Context& context, liteipc::TopicOptions options);\n";
        h += "    explicit " + publisher + "(liteipc::Publisher publisher) : publisher_(std::move(publisher)) {}\n\n";
        h += "    // The wait of each call for a free sample or a blocking subscriber (0: the context's default).\n";
        h += "    void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }\n";
        h += "    liteipc::Publisher& publisher() { return publisher_; }\n\n";
        h += "    // Each method publishes one sample; Errc::invalid_argument, and nothing published, when its\n"
             "    // arguments do not fit the topic's sample_size.\n";
        for (const auto& m : interface_.methods) h += "    " + result_type(m) + " " + m.name + "(" + parameters(m) + ") override;\n";
        h += "\nprivate:\n    liteipc::Publisher publisher_;\n    std::chrono::milliseconds timeout_{0};\n};\n\n";
        h += "// Runs the calls a " + publisher + " publishes on `implementation`, one sample per receive().\n";
        h += "// The methods run on the thread that calls receive(); liteipc::idl::current_call() is nullptr there.\n";
        h += "class " + subscriber + " {\npublic:\n";
        h += "    static liteipc::Result<" + subscriber + "> open(liteipc::Context& context, std::string_view topic, " +
             interface_.name + "& implementation,\n                                              liteipc::SubscribeOptions options = {});\n";
        h += "    " + subscriber + "(liteipc::Subscriber subscriber, " + interface_.name +
             "& implementation)\n        : subscriber_(std::move(subscriber)), implementation_(&implementation) {}\n\n";
        h += "    // Takes the next sample (waiting up to `timeout`, 0: the context's default) and runs its method:\n"
             "    // the method's result; Errc::malformed or unknown_method, logged, for a sample no method reads\n"
             "    // (the next receive() takes the next one); or Subscriber::take's error.\n";
        h += "    liteipc::Result<> receive(std::chrono::milliseconds timeout = {});\n";
        h += "    liteipc::Subscriber& subscriber() { return subscriber_; }  // wake_fd(), publisher_alive(), ...\n";
        h += "\nprivate:\n    liteipc::Subscriber subscriber_;\n    " + interface_.name + "* implementation_;\n};\n";
        return h;
    }

    std::string topic_methods() const {
        const std::string& publisher = topic_publisher_;
        const std::string& subscriber = topic_subscriber_;
        std::string s = "liteipc::Result<" + publisher + "> " + publisher +
                        "::create(liteipc::Context& context, liteipc::TopicOptions options) {\n";
        s += "    auto publisher = liteipc::Publisher::create(context, std::move(options));\n";
        s += "    if (!publisher) return std::unexpected(publisher.error());\n";
        s += "    return " + publisher + "(std::move(*publisher));\n}\n\n";
        for (const auto& m : interface_.methods) {
            s += result_type(m) + " " + publisher + "::" + m.name + "(" + parameters(m) + ") {\n";
            s += "    return liteipc::idl::publish_call(publisher_, static_cast<uint32_t>(Code::" + m.name + "), \"" +
                 label(m) + "\", timeout_" + listed(sent_names(m)) + ");\n}\n\n";
        }
        s += "liteipc::Result<" + subscriber + "> " + subscriber + "::open(liteipc::Context& context, std::string_view topic, " +
             interface_.name + "& implementation,\n                                              liteipc::SubscribeOptions options) {\n";
        s += "    auto subscriber = liteipc::Subscriber::open(context, topic, options);\n";
        s += "    if (!subscriber) return std::unexpected(subscriber.error());\n";
        s += "    return " + subscriber + "(std::move(*subscriber), implementation);\n}\n\n";
        s += "liteipc::Result<> " + subscriber + "::receive(std::chrono::milliseconds timeout) {\n";
        s += "    return liteipc::idl::receive_call(subscriber_, timeout, \"" + descriptor_ +
             "\", [this](uint32_t code, liteipc::Reader& request) {\n";
        s += "        return " + stub_ + "::dispatch_request(*implementation_, code, request);\n    });\n}\n";
        return s;
    }

    const Document& doc_;
    const Interface& interface_;
    const Lineage& lineage_;
    const bool topic_;
    std::map<std::string, std::string> cpp_names_;
    std::string proxy_, stub_, descriptor_, topic_publisher_, topic_subscriber_;
};

}  // namespace

bool check_topic(const Document& document, ParseError& error) {
    // The first fd or interface type inside `t`: a sample carries bytes only.
    const std::function<const Type*(const Type&)> uncarried = [&](const Type& t) -> const Type* {
        if (t.kind == TypeKind::file_descriptor || t.kind == TypeKind::interface) return &t;
        for (const auto& element : t.element)
            if (const Type* found = uncarried(element)) return found;
        return nullptr;
    };
    for (const auto& m : document.interface.methods) {
        if (!m.oneway) {
            error = {document.file, m.where,
                     "'" + m.name + "' is not oneway: a topic carries oneway methods only (mark it or the interface "
                     "[oneway], or generate without --topic)"};
            return false;
        }
        if (m.name == "create" || m.name == "publisher" || m.name == "dispatch_request") {
            error = {document.file, m.where, "'" + m.name + "' is reserved in the generated topic classes: rename it"};
            return false;
        }
        for (const auto& p : m.parameters) {
            if (const Type* refused = uncarried(p.type)) {
                error = {document.file, p.where,
                         "'" + type_text(*refused) + "' in parameter '" + p.name +
                             "' cannot travel on a topic: a sample carries bytes, not fds or service references"};
                return false;
            }
        }
    }
    return true;
}

GeneratedFiles generate_cpp(const Document& document, const Lineage& lineage, bool topic) {
    return CppWriter(document, lineage, topic).files();
}

}  // namespace liteipc::idl
