#include "idl/c_types.h"

#include <cctype>
#include <functional>
#include <set>

#include "idl/cpp_generator.h"
#include "idl/versions.h"

namespace liteipc::idl::c {

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
// Items whose arrays are freed with one free(): nothing of theirs is allocated.
bool is_flat(const Type& t) {
    return is_scalar(t.kind) || t.kind == TypeKind::file_descriptor || t.kind == TypeKind::interface;
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

// The name of a container held in another: LiteIpcIdl<name>. Map keys are scalars or String, so
// "MapOf" K "To" V reads one way only.
std::string type_name(const Type& t) {
    switch (t.kind) {
        case TypeKind::string: return "String";
        case TypeKind::file_descriptor: return "FileDescriptor";
        case TypeKind::interface: return "Remote";
        case TypeKind::sequenceable: return t.name;
        case TypeKind::array:
        case TypeKind::list: return "ListOf" + type_name(t.element[0]);
        case TypeKind::map: return "MapOf" + type_name(t.element[0]) + "To" + type_name(t.element[1]);
        default: return scalar_call(t.kind);
    }
}

// A boolean expression that writes the item `x` (an lvalue) into `io`.
std::string write_item(const Type& t, const std::string& x, const std::string& io) {
    switch (t.kind) {
        case TypeKind::string: return "WriteString(" + io + ", " + x + ")";
        case TypeKind::file_descriptor: return "WriteFileDescriptor(" + io + ", (uint32_t)" + x + ")";
        case TypeKind::interface: return "WriteRemoteObject(" + io + ", &" + x + ")";
        case TypeKind::sequenceable: return t.name + "BlockMarshalling(" + io + ", &" + x + ")";
        case TypeKind::array:
        case TypeKind::list:
        case TypeKind::map: return "LiteIpcIdlWrite" + type_name(t) + "(" + io + ", &" + x + ")";
        default: return "Write" + scalar_call(t.kind) + "(" + io + ", " + x + ")";
    }
}
std::string read_item(const Type& t, const std::string& x, const std::string& io) {
    switch (t.kind) {
        case TypeKind::string: return "LiteIpcIdlReadString(" + io + ", &" + x + ")";
        case TypeKind::file_descriptor: return "(" + x + " = ReadFileDescriptor(" + io + ")) >= 0";
        case TypeKind::interface: return "ReadRemoteObject(" + io + ", &" + x + ")";
        case TypeKind::sequenceable: return t.name + "BlockUnmarshalling(" + io + ", &" + x + ")";
        case TypeKind::array:
        case TypeKind::list:
        case TypeKind::map: return "LiteIpcIdlRead" + type_name(t) + "(" + io + ", &" + x + ")";
        default: return "Read" + scalar_call(t.kind) + "(" + io + ", &" + x + ")";
    }
}
// A statement freeing what the item `x` holds (not `x` itself); empty when it holds nothing.
std::string free_item(const Type& t, const std::string& x) {
    switch (t.kind) {
        case TypeKind::string: return "free(" + x + ");";
        case TypeKind::sequenceable: return t.name + "Free(&" + x + ", false);";
        case TypeKind::array:
        case TypeKind::list:
        case TypeKind::map: return "LiteIpcIdlFree" + type_name(t) + "(&" + x + ");";
        default: return "";
    }
}
// Frees an array of items and what each holds (items zeroed by LiteIpcIdlAllocate free as empty).
std::string free_items(const Type& item, const std::string& array, const std::string& length, const std::string& in) {
    if (item.kind == TypeKind::string) return in + "LiteIpcIdlFreeStrings(" + array + ", " + length + ");\n";
    if (is_flat(item)) return in + "free(" + array + ");\n";
    return in + "for (uint32_t i_ = 0; " + array + " != NULL && i_ < " + length + "; ++i_)\n" + in + "    " +
           free_item(item, array + "[i_]") + "\n" + in + "free(" + array + ");\n";
}

// Calls `visit` on each type inside `t`, innermost first, then on `t`.
void walk(const Type& t, const std::function<void(const Type&)>& visit) {
    for (const auto& e : t.element) walk(e, visit);
    visit(t);
}
void walk(const Document& document, const std::function<void(const Type&)>& visit) {
    for (const auto& m : document.interface.methods) {
        walk(m.result, visit);
        for (const auto& p : m.parameters) walk(p.type, visit);
    }
}

}  // namespace

Slot slot(const std::string& base, const std::string& suffix) {
    return {base + suffix, base + "Len" + suffix, base + "Keys" + suffix, base + "Values" + suffix};
}
Slot dereferenced(const Slot& s) {
    return {"(*" + s.value + ")", "(*" + s.length + ")", "(*" + s.keys + ")", "(*" + s.values + ")"};
}

bool is_container(const Type& t) { return t.kind == TypeKind::array || t.kind == TypeKind::list || t.kind == TypeKind::map; }
bool is_bytes(const Type& t) { return t.kind == TypeKind::array && t.element[0].kind == TypeKind::byte; }

std::string upper_snake(const std::string& name) {
    std::string out = snake_case(name);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

const Type* refused_part(const Type& t) {
    for (const auto& e : t.element) {
        // A byte[] is a data buffer, kept by reference until its message is sent: an item has
        // no owner that lives that long in a stub's reply.
        if (is_bytes(e)) return &e;
        if (const Type* inner = refused_part(e)) return inner;
    }
    return nullptr;
}

std::string value_type(const Type& t) {
    if (const char* name = primitive_name(t.kind)) return name;
    switch (t.kind) {
        case TypeKind::string: return "char*";
        case TypeKind::file_descriptor: return "int";
        case TypeKind::interface: return "SvcIdentity";
        case TypeKind::sequenceable: return "struct " + t.name;
        default: return "struct LiteIpcIdl" + type_name(t);  // a container
    }
}

std::string write_value(const Type& t, const Slot& s, const std::string& io, const std::string& in, bool hand_over) {
    if (hand_over && is_bytes(t))
        return in + "if (ok_) ok_ = LiteIpcWriteDataBuffer(" + io + ", " + s.value + ", " + s.length + ", free);\n" + in +
               "else free(" + s.value + ");\n" + in + s.value + " = NULL;\n";
    const std::string loop = in + "for (uint32_t i_ = 0; ok_ && i_ < " + s.length + "; ++i_)\n" + in + "    ok_ = ";
    switch (t.kind) {
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

std::string read_value(const Type& t, const Slot& s, const std::string& io, const std::string& in, bool in_place) {
    const std::string loop = in + "for (uint32_t i_ = 0; ok_ && i_ < " + s.length + "; ++i_)\n" + in + "    ok_ = ";
    const auto allocate = [&](const std::string& array, const Type& item) {
        return " && LiteIpcIdlAllocate(&" + array + ", " + s.length + ", sizeof(" + value_type(item) + "))";
    };
    switch (t.kind) {
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

std::string free_value(const Type& t, const Slot& s, const std::string& in, bool in_place, bool close_fd) {
    switch (t.kind) {
        case TypeKind::file_descriptor:
            return close_fd ? in + "if (" + s.value + " >= 0) close(" + s.value + ");\n" : "";
        case TypeKind::array:
        case TypeKind::list:
            if (is_bytes(t)) return in_place ? "" : in + "free(" + s.value + ");\n";
            return free_items(t.element[0], s.value, s.length, in);
        case TypeKind::map:
            return free_items(t.element[0], s.keys, s.length, in) + free_items(t.element[1], s.values, s.length, in);
        default: {
            const std::string statement = free_item(t, s.value);
            return statement.empty() ? "" : in + statement + "\n";
        }
    }
}

std::string locals(const Type& t, const Slot& s, const std::string& in, bool in_place) {
    switch (t.kind) {
        case TypeKind::file_descriptor: return in + "int " + s.value + " = -1;\n";
        case TypeKind::interface: return in + "SvcIdentity " + s.value + " = {0};\n";
        case TypeKind::sequenceable:
            return in + value_type(t) + " " + s.value + ";\n" + in + "memset(&" + s.value + ", 0, sizeof " + s.value + ");\n";
        case TypeKind::array:
        case TypeKind::list:
            if (is_bytes(t))
                return in + (in_place ? "const uint8_t* " : "uint8_t* ") + s.value + " = NULL;\n" + in + "uint32_t " +
                       s.length + " = 0;\n";
            return in + value_type(t.element[0]) + "* " + s.value + " = NULL;\n" + in + "uint32_t " + s.length + " = 0;\n";
        case TypeKind::map:
            return in + value_type(t.element[0]) + "* " + s.keys + " = NULL;\n" + in + value_type(t.element[1]) + "* " +
                   s.values + " = NULL;\n" + in + "uint32_t " + s.length + " = 0;\n";
        case TypeKind::string: return in + "char* " + s.value + " = NULL;\n";
        default: return in + value_type(t) + " " + s.value + " = 0;\n";
    }
}

std::vector<std::string> parameters(const Type& t, const std::string& name, bool in) {
    const auto items = [&](const Type& e) {
        if (e.kind == TypeKind::string) return in ? std::string("const char* const*") : std::string("char***");
        return in ? "const " + value_type(e) + "*" : value_type(e) + "**";
    };
    const std::string length = in ? "uint32_t " + name + "Len" : "uint32_t* " + name + "Len";
    switch (t.kind) {
        case TypeKind::array:
        case TypeKind::list:
            if (is_bytes(t)) return {(in ? "const uint8_t* " : "uint8_t** ") + name, length};
            return {items(t.element[0]) + " " + name, length};
        case TypeKind::map: return {items(t.element[0]) + " " + name + "Keys", items(t.element[1]) + " " + name + "Values", length};
        case TypeKind::string: return {(in ? "const char* " : "char** ") + name};
        case TypeKind::sequenceable: return {(in ? "const " : "") + value_type(t) + "* " + name};
        default: return {value_type(t) + (in ? " " : "* ") + name};
    }
}

std::vector<std::string> arguments(const Type& t, const std::string& name, bool in) {
    const std::string p = in ? "" : "&";
    const std::string strings = in ? "(const char* const*)" : "";
    const auto items = [&](const Type& e, const std::string& n) { return (e.kind == TypeKind::string ? strings : "") + p + n; };
    switch (t.kind) {
        case TypeKind::array:
        case TypeKind::list:
            if (is_bytes(t)) return {p + name, p + name + "Len"};
            return {items(t.element[0], name), p + name + "Len"};
        case TypeKind::map: return {items(t.element[0], name + "Keys"), items(t.element[1], name + "Values"), p + name + "Len"};
        case TypeKind::sequenceable: return {"&" + name};
        default: return {p + name};
    }
}

std::string sequenceable_includes(const Document& document) {
    std::set<std::string> used;
    walk(document, [&](const Type& t) {
        if (t.kind == TypeKind::sequenceable) used.insert(t.name);
    });
    std::string out;
    for (const auto& s : document.sequenceables) {
        if (!used.contains(s.name)) continue;
        std::string path;
        for (const auto& part : s.include_dir) path += part + "/";
        out += "#include \"" + path + snake_case(s.name) + "_c.h\" /* struct " + s.name + ", yours */\n";
    }
    return out;
}

std::string type_declarations(const Document& document) {
    std::string out;
    std::set<std::string> done;
    walk(document, [&](const Type& t) {
        if (t.kind != TypeKind::sequenceable || !done.insert(t.name).second) return;
        out += "/* sequenceable " + t.name + ": yours, as in C++ (the same wire). Unmarshalling fills a zeroed\n"
               " * struct and may fail half-way; Free releases what it holds (and it, when freeSelf) and is\n"
               " * called on a zeroed or half-filled one too. */\n";
        out += "bool " + t.name + "BlockMarshalling(IpcIo* data, const struct " + t.name + "* dataBlock);\n";
        out += "bool " + t.name + "BlockUnmarshalling(IpcIo* data, struct " + t.name + "* dataBlock);\n";
        out += "void " + t.name + "Free(struct " + t.name + "* dataBlock, bool freeSelf);\n\n";
    });
    // Containers inside containers, innermost first: shared by every generated header that holds
    // one (guarded by name), as they have one form.
    const auto nested = [&](const Type& held) {
        if (!is_container(held) || !done.insert(type_name(held)).second) return;
        const std::string name = type_name(held), type = value_type(held), guard = "LITEIPC_IDL_TYPE_" + name;
        const Slot s{"value->items", "value->len", "value->keys", "value->values"};
        out += "#ifndef " + guard + "\n#define " + guard + "\n";
        out += "/* " + type_text(held) + " held in a container: LiteIpcIdlFree" + name + " frees what it holds. */\n";
        out += type + " {\n";
        if (held.kind == TypeKind::map)
            out += "    " + value_type(held.element[0]) + "* keys;\n    " + value_type(held.element[1]) + "* values;\n";
        else
            out += "    " + value_type(held.element[0]) + "* items;\n";
        out += "    uint32_t len;\n};\n";
        out += "static inline void LiteIpcIdlFree" + name + "(" + type + "* value)\n{\n" + free_value(held, s, "    ", false, false) +
               "    memset(value, 0, sizeof *value);\n}\n";
        out += "static inline bool LiteIpcIdlWrite" + name + "(IpcIo* io, const " + type + "* value)\n{\n    bool ok_ = true;\n" +
               write_value(held, s, "io", "    ") + "    return ok_;\n}\n";
        out += "static inline bool LiteIpcIdlRead" + name + "(IpcIo* io, " + type + "* value)\n{\n    bool ok_ = true;\n" +
               read_value(held, s, "io", "    ", false) + "    return ok_;\n}\n#endif\n\n";
    };
    walk(document, [&](const Type& t) {
        for (const auto& e : t.element) nested(e);
    });
    return out;
}

}  // namespace liteipc::idl::c
