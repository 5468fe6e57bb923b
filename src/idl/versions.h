// Interface versions (docs/IDL.md, "Changing an interface"): the canonical form of an interface,
// its hash, and which changes keep a service and its clients compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "idl/ast.h"

namespace liteipc::idl {

// The interface as IDL again, with what does not reach the wire left out (comments, package,
// parameter names stay: they document the frozen form) and each method's oneway spelled on it.
// It parses back to the same interface; frozen versions are stored in this form.
std::string canonical_form(const Document& document);

// FNV-1a 64 of the canonical form: names the interface's version (an identity, not a secret).
uint64_t interface_hash(const Document& document);

// Why `now` cannot serve clients of `old` (empty: it can). Compatible: the same interface name,
// the methods of `old` unchanged in place (name, oneway, result, each parameter's direction and
// type), new methods only after them.
std::vector<std::string> compatibility_errors(const Document& old, const Document& now);

// "List<Map<String, int>>"
std::string type_text(const Type& type);

}  // namespace liteipc::idl
