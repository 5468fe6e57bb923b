// `liteipc call SERVICE Method VALUE...`: a call by method name, typed by the interface the service
// publishes (liteipc introspect): the method's code, each value's type, the reply's fields.
#pragma once

#include <string>
#include <vector>

#include "liteipc/ipc.h"

namespace liteipc::cli {

struct ResolvedCall {
    uint32_t code = 0;
    bool oneway = false;
    std::vector<std::string> arguments;    // TYPE:VALUE, as `call SERVICE CODE` takes them
    std::vector<std::string> reply_types;  // the result, then each out and inout parameter
};

// Asks the service for its interface and types `values` by `method`'s parameters.
// Errc::invalid_argument (a usage error) when the service publishes no interface, has no such
// method, or the values do not fit it: the message says which, with what the interface offers.
Result<ResolvedCall> resolve_method(Connection& connection, const std::string& method,
                                    const std::vector<std::string>& values);

}  // namespace liteipc::cli
