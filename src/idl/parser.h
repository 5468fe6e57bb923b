// Reads OpenHarmony IDL (docs/IDL.md has the grammar). A hand-written lexer and a recursive
// descent parser: the first error stops it and says where (file:line:column) and what was expected.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

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
// false with `error` set, or true with `document` filled.
bool parse_into(std::string_view text, std::string file, Document& document, ParseError& error);

// The same as one value. (Inline: clang 14, which builds the fuzz target, cannot instantiate
// libstdc++'s std::expected of these types; that target calls parse_into.)
inline std::expected<Document, ParseError> parse(std::string_view text, std::string file) {
    Document document;
    ParseError error;
    if (!parse_into(text, std::move(file), document, error)) return std::unexpected(std::move(error));
    return document;
}

}  // namespace liteipc::idl
