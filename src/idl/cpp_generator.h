// C++ from an IDL document: an interface class, a proxy over liteipc::Connection and a stub over
// liteipc::Service (docs/IDL.md shows what they look like in use).
#pragma once

#include <string>

#include "idl/ast.h"
#include "idl/parser.h"

namespace liteipc::idl {

struct GeneratedFiles {
    std::string header_name;  // "igreeter.h" for IGreeter.idl
    std::string header;
    std::string source_name;  // "igreeter.cpp"
    std::string source;
};

// `topic` (liteipc-idl --topic) adds FooTopicPublisher and FooTopicSubscriber, which carry the
// interface's calls on a topic; check_topic first.
GeneratedFiles generate_cpp(const Document& document, const Lineage& lineage, bool topic = false);

// What keeps the interface off a topic, the first such thing with its position: a method that is
// not oneway, a parameter that holds an fd or a service reference, a method named as a member of
// the topic publisher. false with `error` set.
bool check_topic(const Document& document, ParseError& error);

// "IIdlTestService" -> "iidl_test_service": the file name upstream's generator gives it.
std::string snake_case(const std::string& name);

}  // namespace liteipc::idl
