// Reads OpenHarmony IDL (docs/IDL.md has the grammar). A hand-written lexer and a recursive
// descent parser: the first error stops it and says where (file:line:column) and what was expected.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "idl/ast.h"

namespace liteipc::idl {

struct ParseError {
    std::string file;
    Position where;
    std::string message;  // "expected ';' after the method, found '}'"

    // "greeter.idl:3:17: expected ..."
    std::string describe() const;
};

// Parses one .idl file's text; `file` names it in errors. Checks names too: each type used is
// declared, each method and parameter name is unique, `out` is not used on oneway methods.
std::expected<Document, ParseError> parse(std::string_view text, std::string file);

}  // namespace liteipc::idl
