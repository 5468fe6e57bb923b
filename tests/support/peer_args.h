// Options a test hands a spawned peer on its command line, and how the peer reads them back.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

#include "liteipc/context.h"
#include "liteipc/ipc.h"

namespace liteipc::testing {

// A peer's command line after its role: positional, read in the order written.
class PeerArgs {
public:
    explicit PeerArgs(std::vector<std::string> args) : args_(std::move(args)) {}
    const std::string& text() { return next_ < args_.size() ? args_[next_++] : empty_; }
    uint64_t number() { return std::strtoull(text().c_str(), nullptr, 10); }
    bool done() const { return next_ >= args_.size(); }

private:
    std::vector<std::string> args_;
    std::size_t next_ = 0;
    std::string empty_;
};

inline void append(std::vector<std::string>& args, const ContextOptions& o) {
    args.insert(args.end(), {o.socket_path, o.pin_root, std::to_string(o.default_timeout.count())});
}
inline ContextOptions read_context_options(PeerArgs& args) {
    ContextOptions o;
    o.socket_path = args.text();
    o.pin_root = args.text();
    o.default_timeout = std::chrono::milliseconds(args.number());
    return o;
}

inline void append(std::vector<std::string>& args, const ServiceOptions& o) {
    args.insert(args.end(), {o.name, std::to_string(static_cast<int>(o.policy)), std::to_string(o.uid_min),
                             std::to_string(o.uid_max), std::to_string(o.workers), std::to_string(o.reply_pool_bytes),
                             std::to_string(o.spin.count()), std::to_string(static_cast<uint32_t>(o.mode))});
}
inline ServiceOptions read_service_options(PeerArgs& args) {
    ServiceOptions o;
    o.name = args.text();
    o.policy = static_cast<Policy>(args.number());
    o.uid_min = static_cast<uint32_t>(args.number());
    o.uid_max = static_cast<uint32_t>(args.number());
    o.workers = static_cast<unsigned>(args.number());
    o.reply_pool_bytes = args.number();
    o.spin = std::chrono::nanoseconds(args.number());
    o.mode = static_cast<Mode>(args.number());
    return o;
}

inline void append(std::vector<std::string>& args, const std::string& s) { args.push_back(s); }
inline void append(std::vector<std::string>& args, const char* s) { args.emplace_back(s); }
template <typename N>
    requires std::is_arithmetic_v<N>
inline void append(std::vector<std::string>& args, N n) {
    args.push_back(std::to_string(n));
}

// The command line for a peer: options and plain values in the order the role reads them.
template <typename... Options>
std::vector<std::string> peer_args(const Options&... options) {
    std::vector<std::string> args;
    (append(args, options), ...);
    return args;
}

}  // namespace liteipc::testing
