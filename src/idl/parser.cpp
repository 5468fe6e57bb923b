#include "idl/parser.h"

#include <functional>
#include <map>
#include <set>
#include <utility>

#include "idl/lexer.h"

namespace liteipc::idl {

std::string ParseError::describe() const {
    return file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " + message;
}

std::string qualified_name(const Interface& interface) {
    std::string out;
    for (const auto& part : interface.name_space) out += part + ".";
    return out + interface.name;
}

namespace {

const std::map<std::string, TypeKind, std::less<>> kPrimitives = {
    {"void", TypeKind::void_type}, {"boolean", TypeKind::boolean}, {"byte", TypeKind::byte},
    {"short", TypeKind::short_type}, {"int", TypeKind::int_type}, {"long", TypeKind::long_type},
    {"float", TypeKind::float_type}, {"double", TypeKind::double_type}, {"String", TypeKind::string},
    {"FileDescriptor", TypeKind::file_descriptor},
};

// Names the generated code cannot give a method or parameter: C++ keywords, the generated
// classes' own members, and names ending in '_' (the generated code's locals).
const std::set<std::string, std::less<>> kReserved = {
    "alignas", "alignof", "and", "asm", "auto", "bool", "break", "case", "catch", "char", "class", "const",
    "constexpr", "continue", "decltype", "default", "delete", "do", "double", "else", "enum", "explicit",
    "export", "extern", "false", "float", "for", "friend", "goto", "if", "inline", "int", "long", "mutable",
    "namespace", "new", "noexcept", "not", "nullptr", "operator", "or", "private", "protected", "public",
    "register", "return", "short", "signed", "sizeof", "static", "struct", "switch", "template", "this",
    "throw", "true", "try", "typedef", "typeid", "typename", "union", "unsigned", "using", "virtual", "void",
    "volatile", "while", "xor",
};
const std::set<std::string, std::less<>> kGeneratedMembers = {
    "Code", "kDescriptor", "open", "connection", "set_timeout", "serve", "dispatch",
};

void check_name(const std::string& name, bool is_method, Position where,
                const std::function<void(Position, std::string)>& fail) {
    const bool member = is_method && (kGeneratedMembers.contains(name) || name.starts_with("decode_"));
    if (member || kReserved.contains(name) || name.ends_with('_'))
        fail(where, "'" + name + "' is reserved in generated code (a C++ keyword, a generated member, or ends in '_'): rename it");
}

bool is_map_key(const Type& type) {
    switch (type.kind) {
        case TypeKind::boolean: case TypeKind::byte: case TypeKind::short_type: case TypeKind::int_type:
        case TypeKind::long_type: case TypeKind::string:
            return true;
        default:
            return false;
    }
}

std::string shown(const Token& token) {
    if (token.kind == TokenKind::end) return "the end of the file";
    if (token.kind == TokenKind::bad) return "'" + token.text + "', which IDL has no use for";
    return "'" + token.text + "'";
}

struct Failed {
    ParseError error;
};

class Parser {
public:
    Parser(std::string_view text, std::string file) : lexer_(text), file_(std::move(file)) { shift(); }

    Document document() {
        Document doc;
        doc.file = file_;
        if (at_name("package")) {
            shift();
            doc.package = dotted("the package name");
            accept(";");  // upstream examples write it with and without
        }
        while (true) {
            if (at_name("import")) {
                const Position where = token_.where;
                shift();
                auto name = dotted("the imported interface");
                expect(";", "after the import");
                declare_interface({std::vector<std::string>(name.begin(), name.end() - 1), name.back(), where});
                doc.imports.push_back(std::move(name));
            } else if (at_name("sequenceable")) {
                shift();
                doc.sequenceables.push_back(sequenceable());
            } else {
                break;
            }
        }
        while (true) {
            const Position where = token_.where;
            const bool oneway = attributes("an interface");
            if (!at_name("interface")) fail(where, "expected 'import', 'sequenceable' or 'interface', found " + shown(token_));
            shift();
            auto name = dotted("the interface name");
            if (accept(";")) {
                if (oneway) fail(where, "[oneway] belongs on the interface's definition, not its declaration");
                declare_interface({std::vector<std::string>(name.begin(), name.end() - 1), name.back(), where});
                continue;
            }
            doc.interface.where = where;
            doc.interface.oneway = oneway;
            doc.interface.name = name.back();
            doc.interface.name_space.assign(name.begin(), name.end() - 1);
            interfaces_[doc.interface.name] = true;
            break;
        }
        doc.declarations = std::move(interface_decls_);
        expect("{", "to open the interface");
        std::set<std::string> methods;
        while (!at("}")) {
            Method method = this->method(doc.interface.oneway);
            if (!methods.insert(method.name).second)
                fail(method.where, "method '" + method.name + "' declared twice (overloads are not IDL)");
            doc.interface.methods.push_back(std::move(method));
        }
        shift();
        accept(";");
        if (token_.kind != TokenKind::end)
            fail(token_.where, "expected the end of the file after the interface (one interface per file), found " +
                                   shown(token_));
        return doc;
    }

private:
    [[noreturn]] void fail(Position where, std::string message) { throw Failed{{file_, where, std::move(message)}}; }

    void shift() {
        token_ = lexer_.next();
        if (token_.kind == TokenKind::bad) fail(token_.where, "unexpected " + shown(token_));
    }
    bool at(std::string_view punct) const { return token_.kind == TokenKind::punct && token_.text == punct; }
    bool at_name(std::string_view name) const { return token_.kind == TokenKind::name && token_.text == name; }
    bool accept(std::string_view punct) {
        if (!at(punct)) return false;
        shift();
        return true;
    }
    void expect(std::string_view punct, std::string_view why) {
        if (!accept(punct))
            fail(token_.where, "expected '" + std::string(punct) + "' " + std::string(why) + ", found " + shown(token_));
    }
    std::string name(std::string_view what) {
        if (token_.kind != TokenKind::name) fail(token_.where, "expected " + std::string(what) + ", found " + shown(token_));
        std::string out = token_.text;
        shift();
        return out;
    }
    std::vector<std::string> dotted(std::string_view what) {
        std::vector<std::string> parts{name(what)};
        while (accept(".")) parts.push_back(name(what));
        return parts;
    }

    // `[oneway]` or `[]`: true for oneway; any other attribute is refused by name.
    bool attributes(std::string_view on) {
        if (!accept("[")) return false;
        bool oneway = false;
        do {
            const Position where = token_.where;
            const std::string attribute = name("an attribute");
            if (attribute != "oneway") fail(where, "unknown attribute '" + attribute + "' on " + std::string(on) + " (expected 'oneway')");
            oneway = true;
        } while (accept(","));
        expect("]", "to close the attributes");
        return oneway;
    }

    Sequenceable sequenceable() {
        Sequenceable out;
        out.where = token_.where;
        std::vector<std::string> parts{name("the sequenceable's name")};
        bool split = false;
        while (at(".") || at("..")) {
            if (at("..")) {
                if (split) fail(token_.where, "a sequenceable has one '..' at most (includedir..namespace.Type)");
                split = true;
                out.include_dir = parts;
                parts.clear();
                shift();
                accept(".");  // "includedir...Type": no namespace
                parts.push_back(name("the type after '..'"));
                continue;
            }
            shift();
            parts.push_back(name("a name after the dot"));
        }
        expect(";", "after the sequenceable");
        out.name = parts.back();
        out.name_space.assign(parts.begin(), parts.end() - 1);
        if (sequenceables_.contains(out.name) || interfaces_.contains(out.name))
            fail(out.where, "'" + out.name + "' declared twice");
        sequenceables_.insert(out.name);
        return out;
    }

    void declare_interface(InterfaceDeclaration declared) {
        if (sequenceables_.contains(declared.name)) fail(declared.where, "'" + declared.name + "' declared twice");
        if (interfaces_.contains(declared.name)) return;  // declared again: the same type
        interfaces_[declared.name] = false;
        interface_decls_.push_back(std::move(declared));
    }

    Type type(std::string_view what) {
        const Position where = token_.where;
        auto parts = dotted(what);
        const std::string& last = parts.back();
        Type out;
        out.name = last;
        if (auto primitive = kPrimitives.find(last); primitive != kPrimitives.end() && parts.size() == 1) {
            out.kind = primitive->second;
        } else if (parts.size() == 1 && (last == "List" || last == "Map")) {
            out.kind = last == "List" ? TypeKind::list : TypeKind::map;
            expect("<", "after " + last);
            out.element.push_back(type("an element type"));
            if (out.kind == TypeKind::map) {
                if (!is_map_key(out.element[0]))
                    fail(where, "a Map's key is boolean, byte, short, int, long or String, not '" + out.element[0].name + "'");
                expect(",", "between the Map's key and value types");
                out.element.push_back(type("the Map's value type"));
            }
            expect(">", "to close " + last);
        } else if (sequenceables_.contains(last)) {
            out.kind = TypeKind::sequenceable;
        } else if (interfaces_.contains(last)) {
            out.kind = TypeKind::interface;
        } else {
            fail(where, "unknown type '" + last + "': declare it with 'sequenceable' or 'interface' first");
        }
        while (accept("[")) {
            expect("]", "after '[' of an array type");
            out = Type{TypeKind::array, out.name + "[]", {std::move(out)}};
        }
        for (const auto& element : out.element)
            if (element.kind == TypeKind::void_type) fail(where, "void is not a value: it stands only for a method's result");
        return out;
    }

    Parameter parameter() {
        Parameter out;
        out.where = token_.where;
        expect("[", "before a parameter's direction ([in], [out] or [inout])");
        const Position where = token_.where;
        const std::string direction = name("in, out or inout");
        if (direction == "in") out.direction = Direction::in;
        else if (direction == "out") out.direction = Direction::out;
        else if (direction == "inout") out.direction = Direction::inout;
        else fail(where, "expected in, out or inout, found '" + direction + "'");
        expect("]", "after the direction");
        out.type = type("a parameter type");
        if (out.type.kind == TypeKind::void_type) fail(out.where, "a parameter cannot be void");
        const Position where_name = token_.where;
        out.name = name("the parameter's name");
        check_name(out.name, false, where_name, [this](Position at, std::string message) { fail(at, std::move(message)); });
        return out;
    }

    Method method(bool interface_oneway) {
        Method out;
        out.where = token_.where;
        out.oneway = attributes("a method") || interface_oneway;
        out.result = type("a method's result type");
        const Position where_name = token_.where;
        out.name = name("the method's name");
        check_name(out.name, true, where_name, [this](Position at, std::string message) { fail(at, std::move(message)); });
        expect("(", "after the method's name");
        std::set<std::string> names;
        if (!at(")")) {
            do {
                Parameter parameter = this->parameter();
                if (!names.insert(parameter.name).second)
                    fail(parameter.where, "parameter '" + parameter.name + "' named twice");
                if (out.oneway && parameter.direction != Direction::in)
                    fail(parameter.where, "a oneway method has [in] parameters only: nothing comes back");
                out.parameters.push_back(std::move(parameter));
            } while (accept(","));
        }
        expect(")", "to close the parameters");
        expect(";", "after the method");
        if (out.oneway && out.result.kind != TypeKind::void_type)
            fail(out.where, "a oneway method returns void: nothing comes back");
        return out;
    }

    Lexer lexer_;
    std::string file_;
    Token token_;
    std::set<std::string, std::less<>> sequenceables_;
    std::map<std::string, bool, std::less<>> interfaces_;  // true: the one this file defines
    std::vector<InterfaceDeclaration> interface_decls_;
};

}  // namespace

bool parse_into(std::string_view text, std::string file, Document& document, ParseError& error) {
    try {
        Parser parser(text, std::move(file));
        document = parser.document();
        return true;
    } catch (const Failed& failed) {
        error = failed.error;
        return false;
    }
}

}  // namespace liteipc::idl
