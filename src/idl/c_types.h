// The C form of each IDL type (docs/IDL.md, "C"): its C type, its parameters, and the statements
// that write, read and free it over the C IpcIo API. c_generator.cpp arranges them into a proxy and
// a stub; the wire is include/liteipc/idl.h's, shared with the C++.
#pragma once

#include <string>
#include <vector>

#include "idl/ast.h"

namespace liteipc::idl::c {

// The C expressions a value lives in: the value (or array), its length, a map's keys and values.
struct Slot {
    std::string value, length, keys, values;
};
Slot slot(const std::string& base, const std::string& suffix = "");
Slot dereferenced(const Slot& s);

bool is_container(const Type& t);
bool is_bytes(const Type& t);  // byte[]: a data buffer
// "EchoIntArray" -> "ECHO_INT_ARRAY"
std::string upper_snake(const std::string& name);

// What of `t` C cannot carry (a byte[] inside a container), or nullptr when it carries all of it.
const Type* refused_part(const Type& t);

// The C type of a value of `t` as an item of an array or a field: "int32_t", "char*",
// "struct Point", "struct LiteIpcIdlListOfInt32".
std::string value_type(const Type& t);

// Statements that write, read (into owned values, byte arrays in place when asked) and free a
// value, each setting `ok_`. `hand_over`: a byte array a method allocated goes with the reply.
std::string write_value(const Type& t, const Slot& s, const std::string& io, const std::string& in, bool hand_over = false);
std::string read_value(const Type& t, const Slot& s, const std::string& io, const std::string& in, bool in_place);
// A received fd is not closed unless `close_fd`.
std::string free_value(const Type& t, const Slot& s, const std::string& in, bool in_place, bool close_fd);
// The zeroed locals read_value fills.
std::string locals(const Type& t, const Slot& s, const std::string& in, bool in_place);

// The C parameters of one IDL parameter: [in] by value (const arrays with a length, a
// sequenceable by const pointer), [out] and [inout] by pointer to what the receiver owns.
std::vector<std::string> parameters(const Type& t, const std::string& name, bool in);
// The arguments a stub passes for them, from its locals.
std::vector<std::string> arguments(const Type& t, const std::string& name, bool in);

// The user's C headers of the sequenceables the interface uses ("#include ..." lines).
std::string sequenceable_includes(const Document& document);
// Before the interface's struct: the functions each sequenceable brings, and a struct with its
// write, read and free functions for each container held inside another container.
std::string type_declarations(const Document& document);

}  // namespace liteipc::idl::c
