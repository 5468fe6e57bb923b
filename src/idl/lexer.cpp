#include "idl/lexer.h"

#include <cctype>

namespace liteipc::idl {

void Lexer::advance() {
    if (text_[at_] == '\n') {
        ++where_.line;
        where_.column = 1;
    } else {
        ++where_.column;
    }
    ++at_;
}

void Lexer::skip_space_and_comments(Token& bad) {
    while (at_ < text_.size()) {
        const char c = peek();
        if (std::isspace(static_cast<unsigned char>(c))) {
            advance();
        } else if (c == '/' && peek(1) == '/') {
            while (at_ < text_.size() && peek() != '\n') advance();
        } else if (c == '/' && peek(1) == '*') {
            const Position start = where_;
            advance();
            advance();
            while (at_ < text_.size() && !(peek() == '*' && peek(1) == '/')) advance();
            if (at_ >= text_.size()) {
                bad = {TokenKind::bad, "/* without */", start};
                return;
            }
            advance();
            advance();
        } else {
            return;
        }
    }
}

Token Lexer::next() {
    Token bad{TokenKind::end, {}, {}};
    skip_space_and_comments(bad);
    if (bad.kind == TokenKind::bad) return bad;
    const Position start = where_;
    if (at_ >= text_.size()) return {TokenKind::end, "end of file", start};
    const char c = peek();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        const size_t from = at_;
        while (at_ < text_.size() && (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_')) advance();
        return {TokenKind::name, std::string(text_.substr(from, at_ - from)), start};
    }
    if (c == '.' && peek(1) == '.') {
        advance();
        advance();
        return {TokenKind::punct, "..", start};
    }
    static constexpr std::string_view punctuation = "{}[]()<>,;.";
    if (punctuation.find(c) != std::string_view::npos) {
        advance();
        return {TokenKind::punct, std::string(1, c), start};
    }
    advance();
    const bool printable = std::isprint(static_cast<unsigned char>(c));
    return {TokenKind::bad, printable ? std::string(1, c) : "byte " + std::to_string(static_cast<unsigned char>(c)), start};
}

}  // namespace liteipc::idl
