// C++ from an IDL document: an interface class, a proxy over liteipc::Connection and a stub over
// liteipc::Service (docs/IDL.md shows what they look like in use).
#pragma once

#include <string>

#include "idl/ast.h"

namespace liteipc::idl {

struct GeneratedFiles {
    std::string header_name;  // "igreeter.h" for IGreeter.idl
    std::string header;
    std::string source_name;  // "igreeter.cpp"
    std::string source;
};

GeneratedFiles generate_cpp(const Document& document, const Lineage& lineage);

// "IIdlTestService" -> "iidl_test_service": the file name upstream's generator gives it.
std::string snake_case(const std::string& name);

}  // namespace liteipc::idl
