// C from an IDL document, over the newer LiteIPC C API (ipc_skeleton.h), in the shape of
// OpenHarmony's C output: a struct of the interface's methods, a proxy that implements it by
// calling a service, and a stub that serves a user's implementation of it (docs/IDL.md, "C").
#pragma once

#include <string>

#include "idl/ast.h"
#include "idl/parser.h"

namespace liteipc::idl {

struct GeneratedCFiles {
    std::string header_name;  // "igreeter_c.h" for IGreeter.idl
    std::string header;
    std::string proxy_name;  // "igreeter_proxy.c"
    std::string proxy;
    std::string stub_name;  // "igreeter_stub.c"
    std::string stub;
};

// What C cannot carry of this document (the first such type, with its position); empty: none.
// C takes every type; a byte[] at the top of a parameter or result only, never inside a container.
bool check_c(const Document& document, ParseError& error);

GeneratedCFiles generate_c(const Document& document, const Lineage& lineage);

}  // namespace liteipc::idl
