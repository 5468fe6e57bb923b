#include "idl/c_generator.h"

#include <cctype>
#include <cstdio>

#include "idl/cpp_generator.h"
#include "idl/versions.h"

namespace liteipc::idl {

namespace {

bool is_scalar(TypeKind kind) {
    switch (kind) {
        case TypeKind::boolean:
        case TypeKind::byte:
        case TypeKind::short_type:
        case TypeKind::int_type:
        case TypeKind::long_type:
        case TypeKind::float_type:
        case TypeKind::double_type: return true;
        default: return false;
    }
}
bool is_container(const Type& t) { return t.kind == TypeKind::array || t.kind == TypeKind::list || t.kind == TypeKind::map; }
bool is_bytes(const Type& t) { return t.kind == TypeKind::array && t.element[0].kind == TypeKind::byte; }
// What C arrays and maps hold: scalars and strings.
bool is_item(const Type& t) { return is_scalar(t.kind) || t.kind == TypeKind::string; }

std::string scalar_type(TypeKind kind) {
    switch (kind) {
        case TypeKind::boolean: return "bool";
        case TypeKind::byte: return "int8_t";
        case TypeKind::short_type: return "int16_t";
        case TypeKind::int_type: return "int32_t";
        case TypeKind::long_type: return "int64_t";
        case TypeKind::float_type: return "float";
        case TypeKind::double_type: return "double";
        case TypeKind::file_descriptor: return "int";
        case TypeKind::interface: return "SvcIdentity";
        default: return "char*";  // String
    }
}
// The serializer.h call of a scalar: Write<Name> / Read<Name>.
std::string scalar_call(TypeKind kind) {
    switch (kind) {
        case TypeKind::boolean: return "Bool";
        case TypeKind::byte: return "Int8";
        case TypeKind::short_type: return "Int16";
        case TypeKind::int_type: return "Int32";
        case TypeKind::long_type: return "Int64";
        case TypeKind::float_type: return "Float";
        default: return "Double";
    }
}

// "EchoIntArray" -> "ECHO_INT_ARRAY"
std::string upper_snake(const std::string& name) {
    std::string out = snake_case(name);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

// The C expressions a value lives in: the value (or array), its length, a map's keys and values.
struct Slot {
    std::string value, length, keys, values;
};
Slot slot(const std::string& base, const std::string& suffix = "") {
    return {base + suffix, base + "Len" + suffix, base + "Keys" + suffix, base + "Values" + suffix};
}
Slot dereferenced(const Slot& s) {
    return {"(*" + s.value + ")", "(*" + s.length + ")", "(*" + s.keys + ")", "(*" + s.values + ")"};
}

// Statements that write `item` (a scalar or string expression) into `io`.
std::string write_item(const Type& t, const std::string& item, const std::string& io) {
    if (t.kind == TypeKind::string) return "WriteString(" + io + ", " + item + ")";
    return "Write" + scalar_call(t.kind) + "(" + io + ", " + item + ")";
}
std::string read_item(const Type& t, const std::string& item, const std::string& io) {
    if (t.kind == TypeKind::string) return "LiteIpcIdlReadString(" + io + ", &" + item + ")";
    return "Read" + scalar_call(t.kind) + "(" + io + ", &" + item + ")";
}

// `hand_over`: a byte array allocated by a method goes with the reply, freed once sent.
std::string write_value(const Type& t, const Slot& s, const std::string& io, const std::string& in, bool hand_over = false) {
    if (hand_over && is_bytes(t))
        return in + "if (ok_) ok_ = LiteIpcWriteDataBuffer(" + io + ", " + s.value + ", " + s.length + ", free);\n" + in +
               "else free(" + s.value + ");\n" + in + s.value + " = NULL;\n";
    const std::string loop = in + "for (uint32_t i_ = 0; ok_ && i_ < " + s.length + "; ++i_)\n" + in + "    ok_ = ";
    switch (t.kind) {
        case TypeKind::file_descriptor: return in + "ok_ = ok_ && WriteFileDescriptor(" + io + ", (uint32_t)" + s.value + ");\n";
        case TypeKind::interface: return in + "ok_ = ok_ && WriteRemoteObject(" + io + ", &" + s.value + ");\n";
        case TypeKind::array:
        case TypeKind::list:
            if (is_bytes(t))
                return in + "ok_ = ok_ && LiteIpcWriteDataBuffer(" + io + ", " + s.value + ", " + s.length + ", NULL);\n";
            return in + "ok_ = ok_ && WriteUint32(" + io + ", " + s.length + ");\n" + loop +
                   write_item(t.element[0], s.value + "[i_]", io) + ";\n";
        case TypeKind::map:
            return in + "ok_ = ok_ && WriteUint32(" + io + ", " + s.length + ");\n" + loop +
                   write_item(t.element[0], s.keys + "[i_]", io) + " && " + write_item(t.element[1], s.values + "[i_]", io) +
                   ";\n";
        default: return in + "ok_ = ok_ && " + write_item(t, s.value, io) + ";\n";
    }
}

// Reads into owned locals (allocated arrays, copied strings); byte arrays in place when asked.
std::string read_value(const Type& t, const Slot& s, const std::string& io, const std::string& in, bool in_place) {
    const std::string loop = in + "for (uint32_t i_ = 0; ok_ && i_ < " + s.length + "; ++i_)\n" + in + "    ok_ = ";
    const auto allocate = [&](const std::string& array, const Type& item) {
        return " && LiteIpcIdlAllocate(&" + array + ", " + s.length + ", sizeof(" + scalar_type(item.kind) + "))";
    };
    switch (t.kind) {
        case TypeKind::file_descriptor: return in + "ok_ = ok_ && (" + s.value + " = ReadFileDescriptor(" + io + ")) >= 0;\n";
        case TypeKind::interface: return in + "ok_ = ok_ && ReadRemoteObject(" + io + ", &" + s.value + ");\n";
        case TypeKind::array:
        case TypeKind::list:
            if (is_bytes(t))
                return in + "ok_ = ok_ && LiteIpcIdlReadBytes" + (in_place ? "InPlace" : "") + "(" + io + ", &" + s.value +
                       ", &" + s.length + ");\n";
            return in + "ok_ = ok_ && LiteIpcIdlReadCount(" + io + ", &" + s.length + ")" + allocate(s.value, t.element[0]) +
                   ";\n" + loop + read_item(t.element[0], s.value + "[i_]", io) + ";\n";
        case TypeKind::map:
            return in + "ok_ = ok_ && LiteIpcIdlReadCount(" + io + ", &" + s.length + ")" + allocate(s.keys, t.element[0]) +
                   allocate(s.values, t.element[1]) + ";\n" + loop + read_item(t.element[0], s.keys + "[i_]", io) + " && " +
                   read_item(t.element[1], s.values + "[i_]", io) + ";\n";
        default: return in + "ok_ = ok_ && " + read_item(t, s.value, io) + ";\n";
    }
}

std::string free_items(const Type& item, const std::string& array, const std::string& length, const std::string& in) {
    if (item.kind == TypeKind::string) return in + "LiteIpcIdlFreeStrings(" + array + ", " + length + ");\n";
    return in + "free(" + array + ");\n";
}
// Frees what read_value allocated (a received fd is not closed unless `close_fd`).
std::string free_value(const Type& t, const Slot& s, const std::string& in, bool in_place, bool close_fd) {
    switch (t.kind) {
        case TypeKind::string: return in + "free(" + s.value + ");\n";
        case TypeKind::file_descriptor:
            return close_fd ? in + "if (" + s.value + " >= 0) close(" + s.value + ");\n" : "";
        case TypeKind::array:
        case TypeKind::list:
            if (is_bytes(t)) return in_place ? "" : in + "free(" + s.value + ");\n";
            return free_items(t.element[0], s.value, s.length, in);
        case TypeKind::map:
            return free_items(t.element[0], s.keys, s.length, in) + free_items(t.element[1], s.values, s.length, in);
        default: return "";
    }
}

// The locals read_value fills, zeroed.
std::string locals(const Type& t, const Slot& s, const std::string& in, bool in_place) {
    switch (t.kind) {
        case TypeKind::file_descriptor: return in + "int " + s.value + " = -1;\n";
        case TypeKind::interface: return in + "SvcIdentity " + s.value + " = {0};\n";
        case TypeKind::array:
        case TypeKind::list:
            if (is_bytes(t))
                return in + (in_place ? "const uint8_t* " : "uint8_t* ") + s.value + " = NULL;\n" + in + "uint32_t " +
                       s.length + " = 0;\n";
            return in + scalar_type(t.element[0].kind) + "* " + s.value + " = NULL;\n" + in + "uint32_t " + s.length + " = 0;\n";
        case TypeKind::map:
            return in + scalar_type(t.element[0].kind) + "* " + s.keys + " = NULL;\n" + in + scalar_type(t.element[1].kind) +
                   "* " + s.values + " = NULL;\n" + in + "uint32_t " + s.length + " = 0;\n";
        case TypeKind::string: return in + "char* " + s.value + " = NULL;\n";
        default: return in + scalar_type(t.kind) + " " + s.value + " = 0;\n";
    }
}

// The C parameters of one IDL parameter: [in] by value (const arrays with a length), [out] and
// [inout] by pointer to what the receiver owns.
std::vector<std::string> c_parameters(const Type& t, const std::string& name, bool in) {
    const auto item = [&](const Type& e) {
        if (e.kind == TypeKind::string) return in ? std::string("const char* const*") : std::string("char***");
        return in ? "const " + scalar_type(e.kind) + "*" : scalar_type(e.kind) + "**";
    };
    const std::string length = in ? "uint32_t " + name + "Len" : "uint32_t* " + name + "Len";
    switch (t.kind) {
        case TypeKind::array:
        case TypeKind::list:
            if (is_bytes(t)) return {(in ? "const uint8_t* " : "uint8_t** ") + name, length};
            return {item(t.element[0]) + " " + name, length};
        case TypeKind::map: return {item(t.element[0]) + " " + name + "Keys", item(t.element[1]) + " " + name + "Values", length};
        case TypeKind::string: return {(in ? "const char* " : "char** ") + name};
        default: return {scalar_type(t.kind) + (in ? " " : "* ") + name};
    }
}
// The arguments a stub passes for them, from its locals.
std::vector<std::string> c_arguments(const Type& t, const std::string& name, bool in) {
    const std::string p = in ? "" : "&";
    const std::string strings = in ? "(const char* const*)" : "";
    const auto items = [&](const Type& e, const std::string& n) { return (e.kind == TypeKind::string ? strings : "") + p + n; };
    switch (t.kind) {
        case TypeKind::array:
        case TypeKind::list:
            if (is_bytes(t)) return {p + name, p + name + "Len"};
            return {items(t.element[0], name), p + name + "Len"};
        case TypeKind::map: return {items(t.element[0], name + "Keys"), items(t.element[1], name + "Values"), p + name + "Len"};
        default: return {p + name};
    }
}

std::string joined(const std::vector<std::string>& parts, const std::string& separator) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? separator : "") + parts[i];
    return out;
}

// A C string literal of `text`.
std::string literal(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '\n') out += "\\n\"\n    \"";
        else if (c == '"' || c == '\\') out += std::string("\\") + c;
        else out += c;
    }
    return out + "\"";
}

class CWriter {
public:
    CWriter(const Document& document, const Lineage& lineage)
        : doc_(document), interface_(document.interface), lineage_(lineage) {
        const std::string& name = interface_.name;
        base_ = name.size() > 1 && name[0] == 'I' && std::isupper(static_cast<unsigned char>(name[1])) ? name.substr(1) : name;
        macro_ = upper_snake(base_);
        descriptor_ = qualified_name(interface_);
        std::string stem = doc_.file.substr(doc_.file.find_last_of('/') + 1);
        stem_ = snake_case(stem.substr(0, stem.find('.')));
    }

    GeneratedCFiles files() const {
        return {stem_ + "_c.h", header(), stem_ + "_proxy.c", proxy(), stem_ + "_stub.c", stub()};
    }

private:
    std::string code(const Method& m) const { return "CMD_" + macro_ + "_" + upper_snake(m.name); }
    std::string label(const Method& m) const { return descriptor_ + "." + m.name; }
    // The method's C parameters after self; its result last, as an out parameter.
    std::vector<std::string> signature(const Method& m) const {
        std::vector<std::string> out;
        for (const auto& p : m.parameters)
            for (auto& c : c_parameters(p.type, p.name, p.direction == Direction::in)) out.push_back(c);
        if (m.result.kind != TypeKind::void_type)
            for (auto& c : c_parameters(m.result, "result", false)) out.push_back(c);
        return out;
    }

    std::string header() const {
        const std::string guard = "LITEIPC_IDL_" + upper_snake(stem_) + "_C_H";
        std::string h = "/* Generated by liteipc-idl from " + doc_.file + ": do not edit. */\n#ifndef " + guard + "\n#define " +
                        guard + "\n\n#include <stdbool.h>\n#include <stdint.h>\n\n#include \"liteipc_idl.h\"\n\n";
        h += "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
        char hash[32];
        std::snprintf(hash, sizeof hash, "0x%016llxULL", static_cast<unsigned long long>(interface_hash(doc_)));
        h += "#define " + macro_ + "_DESCRIPTOR \"" + descriptor_ + "\"\n";
        h += "/* The hash of this version's canonical form (liteipc-idl --freeze). */\n";
        h += "#define " + macro_ + "_INTERFACE_HASH " + hash + "\n";
        std::snprintf(hash, sizeof hash, "0x%016llxULL", static_cast<unsigned long long>(lineage_.contract_hash));
        h += "/* What a proxy names at connect: the first frozen version's hash, shared by every version\n"
             " * that only appends methods. */\n";
        h += "#define " + macro_ + "_CONTRACT_HASH " + hash + "\n";
        h += "/* The frozen version this is (liteipc-idl --versions); 0: not frozen. */\n";
        h += "#define " + macro_ + "_VERSION " + std::to_string(lineage_.version) + "u\n\n";
        h += "/* Method codes: declaration order, from 1. Append methods, never reorder them. */\nenum {\n";
        for (size_t i = 0; i < interface_.methods.size(); ++i)
            h += "    " + code(interface_.methods[i]) + " = " + std::to_string(i + 1) + ",\n";
        h += "};\n\n";
        h += "/* " + descriptor_ + ": each method returns ERR_NONE, or a negative status (a transport's\n"
             " * rpc_errno.h code, or LITEIPC_IDL_ERR_*). Out values are set only on ERR_NONE. */\n";
        h += "struct " + interface_.name + " {\n";
        for (const auto& m : interface_.methods) {
            auto parameters = signature(m);
            parameters.insert(parameters.begin(), "struct " + interface_.name + "* self");
            h += "    int32_t (*" + m.name + ")(" + joined(parameters, ", ") + ");\n";
        }
        h += "};\n\n";
        h += "/* The proxy: calls the service `serviceName` (*proxy set on ERR_NONE), or a service\n"
             " * received as a reference. Release it with " + base_ + "ProxyRelease. */\n";
        h += "int32_t " + base_ + "ProxyOpen(const char* serviceName, struct " + interface_.name + "** proxy);\n";
        h += "struct " + interface_.name + "* " + base_ + "ProxyFromRemote(SvcIdentity remote);\n";
        h += "/* Seconds each call waits for its reply (0: the default). */\n";
        h += "void " + base_ + "ProxySetWaitTime(struct " + interface_.name + "* proxy, uint32_t seconds);\n";
        h += "void " + base_ + "ProxyRelease(struct " + interface_.name + "* proxy);\n\n";
        h += "/* The stub: serves `impl` (each method gets `impl` as self). A method's [in] values are\n"
             " * valid during the call; what it returns and sets in out values it allocates with\n"
             " * malloc and the stub frees (a returned fd stays the method's to close). */\n";
        h += "struct " + base_ + "Stub {\n    struct " + interface_.name + "* impl;\n    IpcObjectStub object;\n};\n";
        h += "void " + base_ + "StubInit(struct " + base_ + "Stub* stub, struct " + interface_.name + "* impl);\n";
        h += "/* The local object, to pass as an interface value. */\n";
        h += "SvcIdentity " + base_ + "StubIdentity(struct " + base_ + "Stub* stub);\n";
        h += "/* Serves it under `serviceName` too (LiteIpcAddService). */\n";
        h += "int32_t " + base_ + "StubServe(struct " + base_ + "Stub* stub, const char* serviceName);\n";
        h += "int32_t " + base_ + "StubOnRemoteRequest(uint32_t code, IpcIo* data, IpcIo* reply, MessageOption option);\n";
        h += "\n#ifdef __cplusplus\n}\n#endif\n\n#endif /* " + guard + " */\n";
        return h;
    }

    std::string proxy_method(const Method& m) const {
        const std::string in = "    ";
        auto parameters = signature(m);
        parameters.insert(parameters.begin(), "struct " + interface_.name + "* self_");
        std::string s = "static int32_t " + base_ + "Proxy" + m.name + "(" + joined(parameters, ", ") + ")\n{\n";
        s += in + "struct " + base_ + "Proxy* proxy_ = (struct " + base_ + "Proxy*)self_;\n";
        s += in + "uint8_t requestBytes_[MAX_IO_SIZE];\n" + in + "IpcIo request_;\n" + in + "MessageOption option_;\n";
        s += in + "bool ok_ = true;\n";
        std::vector<std::pair<const Type*, std::string>> outs;  // read from the reply, in order
        if (m.result.kind != TypeKind::void_type) outs.emplace_back(&m.result, "result");
        for (const auto& p : m.parameters)
            if (p.direction != Direction::in) outs.emplace_back(&p.type, p.name);
        if (!m.oneway) {
            s += in + "IpcIo reply_;\n" + in + "uintptr_t buffer_ = 0;\n" + in + "int32_t status_;\n";
            for (const auto& [type, name] : outs) s += locals(*type, slot(name, "_"), in, false);
        }
        s += in + "IpcIoInit(&request_, requestBytes_, sizeof requestBytes_, MAX_OBJ_NUM);\n";
        for (const auto& p : m.parameters) {
            if (p.direction == Direction::out) continue;
            const Slot value = p.direction == Direction::in ? slot(p.name) : dereferenced(slot(p.name));
            s += write_value(p.type, value, "&request_", in);
        }
        s += in + "if (!ok_) {\n" + in + "    fprintf(stderr, \"liteipc: %s: request not written\\n\", \"" + label(m) +
             "\");\n" + in + "    return LITEIPC_IDL_ERR_INVALID_ARGUMENT;\n" + in + "}\n";
        s += in + "MessageOptionInit(&option_);\n" + in + "option_.waitTime = proxy_->waitTime;\n";
        if (m.oneway) {
            s += in + "option_.flags = TF_OP_ASYNC;\n";
            return s + in + "return SendRequest(proxy_->remote, " + code(m) + ", &request_, NULL, option_, NULL);\n}\n\n";
        }
        s += in + "status_ = SendRequest(proxy_->remote, " + code(m) + ", &request_, &reply_, option_, &buffer_);\n";
        s += in + "if (status_ != ERR_NONE) return status_;\n";
        for (const auto& [type, name] : outs) s += read_value(*type, slot(name, "_"), "&reply_", in, false);
        s += in + "FreeBuffer((void*)buffer_);\n";
        s += in + "if (!ok_) {\n";
        for (const auto& [type, name] : outs) s += free_value(*type, slot(name, "_"), in + "    ", false, true);
        s += in + "    fprintf(stderr, \"liteipc: %s: malformed reply\\n\", \"" + label(m) + "\");\n";
        s += in + "    return LITEIPC_IDL_ERR_MALFORMED;\n" + in + "}\n";
        // inout values the caller passed are replaced: what it allocated goes first.
        for (const auto& p : m.parameters)
            if (p.direction == Direction::inout) s += free_value(p.type, dereferenced(slot(p.name)), in, false, false);
        for (const auto& [type, name] : outs) {
            const Slot to = slot(name), from = slot(name, "_");
            if (type->kind == TypeKind::map) {
                s += in + "*" + to.keys + " = " + from.keys + ";\n" + in + "*" + to.values + " = " + from.values + ";\n";
                s += in + "*" + to.length + " = " + from.length + ";\n";
            } else {
                s += in + "*" + to.value + " = " + from.value + ";\n";
                if (is_container(*type)) s += in + "*" + to.length + " = " + from.length + ";\n";
            }
        }
        return s + in + "return ERR_NONE;\n}\n\n";
    }

    std::string proxy() const {
        const std::string iface = "struct " + interface_.name;
        std::string s = "/* Generated by liteipc-idl from " + doc_.file + ": do not edit. */\n#include \"" + stem_ + "_c.h\"\n\n";
        s += "#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n\n";
        s += "struct " + base_ + "Proxy {\n    " + iface + " interface; /* first: the proxy is its interface */\n";
        s += "    SvcIdentity remote;\n    uint32_t waitTime;\n};\n\n";
        for (const auto& m : interface_.methods) s += proxy_method(m);
        s += iface + "* " + base_ + "ProxyFromRemote(SvcIdentity remote)\n{\n";
        s += "    struct " + base_ + "Proxy* proxy = (struct " + base_ + "Proxy*)calloc(1, sizeof *proxy);\n";
        s += "    if (proxy == NULL) return NULL;\n";
        for (const auto& m : interface_.methods) s += "    proxy->interface." + m.name + " = " + base_ + "Proxy" + m.name + ";\n";
        s += "    proxy->remote = remote;\n    return &proxy->interface;\n}\n\n";
        s += "int32_t " + base_ + "ProxyOpen(const char* serviceName, " + iface + "** proxy)\n{\n";
        s += "    SvcIdentity remote;\n";
        s += "    /* The kernel refuses a service of another interface: LITEIPC_IDL_ERR_INTERFACE_MISMATCH. */\n";
        s += "    int32_t status = LiteIpcGetService(serviceName, " + macro_ + "_CONTRACT_HASH, &remote);\n";
        s += "    if (status != ERR_NONE) return status;\n";
        s += "    *proxy = " + base_ + "ProxyFromRemote(remote);\n";
        s += "    return *proxy != NULL ? ERR_NONE : LITEIPC_IDL_ERR_NO_MEMORY;\n}\n\n";
        s += "void " + base_ + "ProxySetWaitTime(" + iface + "* proxy, uint32_t seconds)\n{\n";
        s += "    ((struct " + base_ + "Proxy*)proxy)->waitTime = seconds;\n}\n\n";
        s += "void " + base_ + "ProxyRelease(" + iface + "* proxy)\n{\n    free(proxy);\n}\n";
        return s;
    }

    std::string stub_method(const Method& m) const {
        const std::string in = "    ";
        std::string s = "static int32_t " + base_ + "Stub" + m.name + "(struct " + interface_.name +
                        "* impl_, IpcIo* data_, IpcIo* reply_)\n{\n";
        s += in + "bool ok_ = true;\n" + in + "int32_t status_;\n";
        s += in + "(void)data_; /* not read by every method */\n" + in + "(void)reply_;\n";
        const auto in_place = [](const Parameter& p) { return p.direction == Direction::in; };
        for (const auto& p : m.parameters) s += locals(p.type, slot(p.name), in, in_place(p));
        if (m.result.kind != TypeKind::void_type) s += locals(m.result, slot("result"), in, false);
        const auto cleanup = [&](const std::string& indent) {
            std::string out;
            for (const auto& p : m.parameters) out += free_value(p.type, slot(p.name), indent, in_place(p), false);
            if (m.result.kind != TypeKind::void_type) out += free_value(m.result, slot("result"), indent, false, false);
            return out;
        };
        for (const auto& p : m.parameters)
            if (p.direction != Direction::out) s += read_value(p.type, slot(p.name), "data_", in, in_place(p));
        s += in + "if (!ok_) {\n" + cleanup(in + "    ");
        s += in + "    return LiteIpcIdlFail(LITEIPC_IDL_ERR_MALFORMED, \"" + label(m) + "\", \"malformed request\");\n" + in + "}\n";
        std::vector<std::string> arguments = {"impl_"};
        for (const auto& p : m.parameters)
            for (auto& a : c_arguments(p.type, p.name, p.direction == Direction::in)) arguments.push_back(a);
        if (m.result.kind != TypeKind::void_type)
            for (auto& a : c_arguments(m.result, "result", false)) arguments.push_back(a);
        s += in + "status_ = impl_->" + m.name + "(" + joined(arguments, ", ") + ");\n";
        if (!m.oneway) {
            s += in + "if (status_ == ERR_NONE) {\n";
            if (m.result.kind != TypeKind::void_type) s += write_value(m.result, slot("result"), "reply_", in + "    ", true);
            for (const auto& p : m.parameters)
                if (p.direction != Direction::in) s += write_value(p.type, slot(p.name), "reply_", in + "    ", true);
            s += in + "    if (!ok_) status_ = LiteIpcIdlFail(LITEIPC_IDL_ERR_NO_MEMORY, \"" + label(m) +
                 "\", \"reply not written\");\n";
            s += in + "} else {\n" + in + "    LiteIpcSetReplyStatus(status_);\n" + in + "}\n";
        }
        return s + cleanup(in) + in + "return status_;\n}\n\n";
    }

    std::string stub() const {
        const std::string stub_type = "struct " + base_ + "Stub";
        std::string s = "/* Generated by liteipc-idl from " + doc_.file + ": do not edit. */\n#include \"" + stem_ + "_c.h\"\n\n";
        s += "#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n\n";
        s += "/* What `liteipc introspect` prints: the canonical form. */\nstatic const char k" + base_ + "Idl[] =\n    " +
             literal(canonical_form(doc_)) + ";\n\n";
        for (const auto& m : interface_.methods) s += stub_method(m);
        s += "int32_t " + base_ + "StubOnRemoteRequest(uint32_t code, IpcIo* data, IpcIo* reply, MessageOption option)\n{\n";
        s += "    " + stub_type + "* stub = (" + stub_type + "*)option.args;\n";
        s += "    switch (code) {\n";
        s += "    case LITEIPC_IDL_INTROSPECT_CODE:\n";
        s += "        WriteString(reply, k" + base_ + "Idl);\n        WriteUint64(reply, " + macro_ + "_INTERFACE_HASH);\n";
        s += "        return ERR_NONE;\n";
        for (const auto& m : interface_.methods)
            s += "    case " + code(m) + ":\n        return " + base_ + "Stub" + m.name + "(stub->impl, data, reply);\n";
        s += "    default:\n        fprintf(stderr, \"liteipc: %s: no method of code %u\\n\", " + macro_ + "_DESCRIPTOR, code);\n";
        s += "        LiteIpcSetReplyStatus(LITEIPC_IDL_ERR_UNKNOWN_METHOD);\n        return LITEIPC_IDL_ERR_UNKNOWN_METHOD;\n";
        s += "    }\n}\n\n";
        s += "void " + base_ + "StubInit(" + stub_type + "* stub, struct " + interface_.name + "* impl)\n{\n";
        s += "    stub->impl = impl;\n    stub->object.func = " + base_ + "StubOnRemoteRequest;\n";
        s += "    stub->object.args = stub;\n    stub->object.isRemote = false;\n}\n\n";
        s += "SvcIdentity " + base_ + "StubIdentity(" + stub_type + "* stub)\n{\n";
        s += "    SvcIdentity self = {MIN_BINDER_HANDLE, 0, (uintptr_t)&stub->object};\n    return self;\n}\n\n";
        s += "int32_t " + base_ + "StubServe(" + stub_type + "* stub, const char* serviceName)\n{\n";
        s += "    SvcIdentity self = " + base_ + "StubIdentity(stub);\n";
        s += "    LiteIpcInterface interface = {" + macro_ + "_DESCRIPTOR, " + macro_ + "_INTERFACE_HASH, " + macro_ +
             "_CONTRACT_HASH, " + macro_ + "_VERSION};\n";
        s += "    return LiteIpcAddService(serviceName, &self, &interface);\n}\n";
        return s;
    }

    const Document& doc_;
    const Interface& interface_;
    const Lineage& lineage_;
    std::string base_, macro_, descriptor_, stem_;
};

bool c_can_carry(const Type& t) {
    if (t.kind == TypeKind::sequenceable) return false;
    if (t.kind == TypeKind::map) return is_item(t.element[0]) && is_item(t.element[1]);
    if (t.kind == TypeKind::array || t.kind == TypeKind::list) return is_item(t.element[0]);
    return true;
}

}  // namespace

bool check_c(const Document& document, ParseError& error) {
    const auto refuse = [&](const Type& t, Position where) {
        error = {document.file, where,
                 "'" + type_text(t) + "' has no C form: C takes sequenceables nowhere, and arrays, lists and maps of "
                 "scalars and String only (generate C++ alone for it)"};
        return false;
    };
    for (const auto& m : document.interface.methods) {
        if (!c_can_carry(m.result)) return refuse(m.result, m.where);
        for (const auto& p : m.parameters)
            if (!c_can_carry(p.type)) return refuse(p.type, p.where);
    }
    return true;
}

GeneratedCFiles generate_c(const Document& document, const Lineage& lineage) {
    return CWriter(document, lineage).files();
}

}  // namespace liteipc::idl
