// libFuzzer target over liteipc-idl's parser, C++ and C generators and canonical form: any bytes as an
// .idl file must give a document or a positioned error, never a crash, a hang or a sanitizer
// report, and a document's canonical form must parse back to itself.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "idl/c_generator.h"
#include "idl/cpp_generator.h"
#include "idl/parser.h"
#include "idl/versions.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    liteipc::idl::Document document;
    liteipc::idl::ParseError error;
    if (liteipc::idl::parse_into(text, "fuzz.idl", document, error)) {
        // What parses must generate: every type the parser accepts has a C++ form.
        const liteipc::idl::Lineage lineage{liteipc::idl::interface_hash(document), 0};
        const auto files = liteipc::idl::generate_cpp(document, lineage);
        if (files.header.empty() || files.source.empty()) __builtin_trap();
        // What C carries generates C; what it does not is refused with a position.
        liteipc::idl::ParseError no_c_form;
        if (liteipc::idl::check_c(document, no_c_form)) {
            const auto c_files = liteipc::idl::generate_c(document, lineage);
            if (c_files.header.empty() || c_files.proxy.empty() || c_files.stub.empty()) __builtin_trap();
        } else if (no_c_form.where.line < 1 || no_c_form.message.empty()) {
            __builtin_trap();
        }
        // The canonical form (what --freeze stores) parses back to itself.
        const std::string canonical = liteipc::idl::canonical_form(document);
        liteipc::idl::Document again;
        if (!liteipc::idl::parse_into(canonical, "canonical.idl", again, error)) __builtin_trap();
        if (liteipc::idl::canonical_form(again) != canonical) __builtin_trap();
    } else if (error.where.line < 1 || error.where.column < 1 || error.message.empty()) {
        __builtin_trap();
    }
    return 0;
}
