// An OpenHarmony IDL file as liteipc-idl reads it (docs/IDL.md): what the parser builds and the
// generators walk.
#pragma once

#include <string>
#include <vector>

namespace liteipc::idl {

struct Position {
    int line = 1;
    int column = 1;
};

enum class TypeKind {
    void_type, boolean, byte, short_type, int_type, long_type, float_type, double_type, string,
    file_descriptor,  // liteipc's extension: an fd travels as OBJ_FD
    array,            // T[]
    list,             // List<T>
    map,              // Map<K, V>
    sequenceable,     // a user type with marshal/unmarshal functions
    interface,        // a service reference (OBJ_SVC)
};

// The name C and C++ both give a primitive (bool, int8_t .. int64_t, float, double); null for
// every other kind, whose name depends on the language.
inline const char* primitive_name(TypeKind kind) {
    switch (kind) {
        case TypeKind::boolean: return "bool";
        case TypeKind::byte: return "int8_t";
        case TypeKind::short_type: return "int16_t";
        case TypeKind::int_type: return "int32_t";
        case TypeKind::long_type: return "int64_t";
        case TypeKind::float_type: return "float";
        case TypeKind::double_type: return "double";
        default: return nullptr;
    }
}

struct Type {
    TypeKind kind = TypeKind::void_type;
    std::string name;           // the type's name as written (sequenceable or interface: the last part)
    std::vector<Type> element;  // array and list: one; map: key and value
};

enum class Direction { in, out, inout };

struct Parameter {
    Direction direction = Direction::in;
    Type type;
    std::string name;
    Position where;
};

struct Method {
    std::string name;
    Type result;
    std::vector<Parameter> parameters;
    bool oneway = false;  // [oneway] on the method or its interface
    Position where;
};

// `sequenceable a.b..C.D;`: the header lies under a/b/, the type is C::D. Without "..", all but
// the last name is the namespace and the header is the type's name in snake case.
struct Sequenceable {
    std::vector<std::string> include_dir;
    std::vector<std::string> name_space;
    std::string name;
    Position where;
};

// `interface a.b.IFoo;` or `import a.b.IFoo;`: a type known by name, defined elsewhere.
struct InterfaceDeclaration {
    std::vector<std::string> name_space;
    std::string name;
    Position where;
};

struct Interface {
    std::vector<std::string> name_space;
    std::string name;
    bool oneway = false;
    std::vector<Method> methods;
    Position where;
};

struct Document {
    std::string file;
    std::vector<std::string> package;
    std::vector<std::vector<std::string>> imports;
    std::vector<Sequenceable> sequenceables;
    std::vector<InterfaceDeclaration> declarations;
    Interface interface;
};

// Where an interface stands among its frozen versions (liteipc-idl --versions DIR).
struct Lineage {
    // What clients name at connect and the kernel checks: the hash of the first frozen version,
    // which every later version shares (they only append methods); without frozen versions, the
    // interface's own hash.
    uint64_t contract_hash = 0;
    uint32_t version = 0;  // the frozen version this form is; 0: not frozen (yet)
};

// The interface's full name, dot-separated: "OHOS.IFoo".
std::string qualified_name(const Interface& interface);

}  // namespace liteipc::idl
