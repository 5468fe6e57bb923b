// `liteipc call SERVICE CODE [TYPE:VALUE...] [--reply TYPES]`: one request with typed arguments,
// and the reply's status and fields. The one command that registers a process: it calls.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "loader_query.h"

namespace liteipc::cli {

struct CallOptions {
    LoaderAddress address;
    std::chrono::milliseconds timeout{5000};
    std::string service;
    std::string code;                  // a number
    std::vector<std::string> arguments;  // TYPE:VALUE, e.g. s:hello i32:42 u64:7 b:true
    std::string reply_types;           // comma-separated TYPEs to read from the reply; empty: raw bytes
    bool json = false;
};

// A process exit status (liteipc(1)).
int run_call(const CallOptions& options);

}  // namespace liteipc::cli
