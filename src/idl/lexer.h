// The tokens of OpenHarmony IDL: names, punctuation, and comments skipped.
#pragma once

#include <string>
#include <string_view>

#include "idl/ast.h"

namespace liteipc::idl {

enum class TokenKind { name, punct, end, bad };

struct Token {
    TokenKind kind = TokenKind::end;
    std::string text;  // the name, the punctuation ("..", "[", ...), or what was not understood
    Position where;
};

class Lexer {
public:
    explicit Lexer(std::string_view text) : text_(text) {}
    // The next token; TokenKind::bad with its text for a character IDL has no use for or an
    // unterminated comment.
    Token next();

private:
    void skip_space_and_comments(Token& bad);
    char peek(size_t ahead = 0) const { return at_ + ahead < text_.size() ? text_[at_ + ahead] : '\0'; }
    void advance();

    std::string_view text_;
    size_t at_ = 0;
    Position where_;
};

}  // namespace liteipc::idl
