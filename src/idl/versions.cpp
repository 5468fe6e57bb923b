#include "idl/versions.h"


#include "idl/parser.h"

namespace liteipc::idl {

namespace {

std::string dotted(const std::vector<std::string>& parts, const std::string& name) {
    std::string out;
    for (const auto& part : parts) out += part + ".";
    return out + name;
}

const char* direction_text(Direction direction) {
    switch (direction) {
        case Direction::in: return "in";
        case Direction::out: return "out";
        case Direction::inout: return "inout";
    }
    return "in";
}

std::string signature(const Method& m) {
    std::string out = (m.oneway ? "[oneway] " : "") + type_text(m.result) + " " + m.name + "(";
    for (size_t i = 0; i < m.parameters.size(); ++i) {
        const Parameter& p = m.parameters[i];
        out += (i ? ", [" : "[") + std::string(direction_text(p.direction)) + "] " + type_text(p.type) + " " + p.name;
    }
    return out + ")";
}

// The signature without parameter names: what the wire depends on.
std::string wire_signature(const Method& m) {
    std::string out = (m.oneway ? "[oneway] " : "") + type_text(m.result) + " " + m.name + "(";
    for (size_t i = 0; i < m.parameters.size(); ++i)
        out += (i ? ", [" : "[") + std::string(direction_text(m.parameters[i].direction)) + "] " +
               type_text(m.parameters[i].type);
    return out + ")";
}

}  // namespace

std::string type_text(const Type& type) {
    switch (type.kind) {
        case TypeKind::array: return type_text(type.element[0]) + "[]";
        case TypeKind::list: return "List<" + type_text(type.element[0]) + ">";
        case TypeKind::map: return "Map<" + type_text(type.element[0]) + ", " + type_text(type.element[1]) + ">";
        default: return type.name;
    }
}

std::string canonical_form(const Document& document) {
    std::string out;
    for (const auto& s : document.sequenceables) {
        std::string name = dotted(s.name_space, s.name);
        if (!s.include_dir.empty()) name = dotted(s.include_dir, "") + "." + (s.name_space.empty() ? "." : "") + name;
        out += "sequenceable " + name + ";\n";
    }
    for (const auto& d : document.declarations) out += "interface " + dotted(d.name_space, d.name) + ";\n";
    out += "interface " + qualified_name(document.interface) + " {\n";
    for (const auto& m : document.interface.methods) out += "    " + signature(m) + ";\n";
    return out + "}\n";
}

uint64_t interface_hash(const Document& document) {
    uint64_t hash = 0xcbf29ce484222325ull;
    for (unsigned char c : canonical_form(document)) {
        hash ^= c;
        hash *= 0x100000001b3ull;
    }
    return hash;
}

std::vector<std::string> compatibility_errors(const Document& old, const Document& now) {
    std::vector<std::string> errors;
    const std::string old_name = qualified_name(old.interface), new_name = qualified_name(now.interface);
    if (old_name != new_name) errors.push_back("the interface is " + new_name + ", was " + old_name);
    const auto& before = old.interface.methods;
    const auto& after = now.interface.methods;
    for (size_t i = 0; i < before.size(); ++i) {
        const std::string code = "method " + std::to_string(i + 1) + " ";
        if (i >= after.size()) {
            errors.push_back(code + "'" + before[i].name + "' was removed: methods are only appended");
        } else if (wire_signature(before[i]) != wire_signature(after[i])) {
            errors.push_back(code + "changed: was '" + wire_signature(before[i]) + "', now '" + wire_signature(after[i]) +
                             "' (reordered, renamed or retyped: append a new method instead)");
        }
    }
    return errors;
}

}  // namespace liteipc::idl
