// What the data-plane system tests and their peers share: a service with one of their handlers in
// a spawned process, replies whose every byte says which call wrote it, and what a process holds (fds,
// mappings, RSS) read from /proc.
#pragma once

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "liteipc/ipc.h"
#include "loader_fixture.h"
#include "peer.h"
#include "peer_args.h"

namespace liteipc::testing {

// Byte `index` of the reply to the call with `seed`: no two seeds agree on a run of bytes.
inline std::byte fill_byte(uint64_t seed, uint64_t index) {
    uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ULL ^ (index >> 3) * 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 29;
    return static_cast<std::byte>((x >> (8 * (index & 7))) & 0xff);
}

// The first index whose byte is not what the call with `seed` wrote, or -1 when all are.
inline int64_t first_wrong_byte(std::span<const std::byte> bytes, uint64_t seed) {
    for (uint64_t i = 0; i < bytes.size(); ++i)
        if (bytes[i] != fill_byte(seed, i)) return static_cast<int64_t>(i);
    return -1;
}

// Answers every call with its code.
inline int32_t answer_code(Call& call) {
    call.reply().write_uint32(call.code());
    return 0;
}

inline constexpr uint32_t kSlowCall = 41;     // withdraw_service: answered after 2 s
inline constexpr uint32_t kSequenced = 42;    // sequence_service: a oneway message, a uint32 sequence number
// How a sequence_sender ends once it sent its messages.
enum class SenderEnding : int { close = 0, exit = 1, sigkill = 2 };
inline constexpr uint32_t kFilledReply = 40;  // request: uint64 size, uint64 seed; reply: a filled buffer

// Answers kFilledReply with a reply-pool buffer of the size asked, filled for the seed.
inline int32_t filled_reply_handler(Call& call) {
    if (call.code() != kFilledReply) return -1;
    const uint64_t size = call.request().read_uint64();
    const uint64_t seed = call.request().read_uint64();
    std::span<std::byte> out = call.reply().reserve_buffer(size);
    for (uint64_t i = 0; i < out.size(); ++i) out[i] = fill_byte(seed, i);
    return call.reply().ok() ? 0 : -12;
}

// What a data-plane service peer answers with.
enum class ServiceHandler : int { answer_code = 0, filled_reply = 1 };

inline CallHandler handler_for(ServiceHandler handler) {
    return handler == ServiceHandler::filled_reply ? CallHandler(filled_reply_handler) : CallHandler(answer_code);
}

// A C++ service in its own process (the test peer's `dataplane_service` role), serving `handler`
// until the test ends; the process is spawned, not forked, so that it may run threads.
class ServicePeer {
public:
    // `rlimit_nofile` > 0 sets the service process's fd limit (soft and hard) first.
    ServicePeer(const ContextOptions& context_options, const ServiceOptions& options, ServiceHandler handler,
                rlim_t rlimit_nofile = 0)
        : peer_(Peer::spawn("dataplane_service", peer_args(context_options, options, static_cast<int>(handler),
                                                           static_cast<uint64_t>(rlimit_nofile)))) {
        char ok = 0;
        EXPECT_TRUE(peer_.read(ok)) << "service peer " << options.name << " reported nothing";
        EXPECT_EQ(ok, 'y') << "service peer " << options.name << " did not start";
    }
    pid_t pid() const { return peer_.pid(); }

private:
    Peer peer_;
};

// What a process holds, from /proc.
struct Holdings {
    long fds = 0;
    long mappings = 0;              // of liteipc memfds (memfd:liteipc-*)
    long rss_kib = 0;
    std::vector<std::string> maps;  // those mappings' lines of /proc/PID/maps, to say what changed
};

// The mappings in `after` that are not in `before`, one per line.
inline std::string new_mappings(const Holdings& before, const Holdings& after) {
    std::string text;
    for (const auto& line : after.maps)
        if (std::find(before.maps.begin(), before.maps.end(), line) == before.maps.end()) text += line + "\n";
    return text;
}

inline Holdings holdings_of(pid_t pid) {
    Holdings held;
    const std::string proc = "/proc/" + std::to_string(pid);
    if (DIR* dir = ::opendir((proc + "/fd").c_str())) {
        while (dirent* entry = ::readdir(dir))
            if (entry->d_name[0] != '.') ++held.fds;
        ::closedir(dir);
    }
    // Only liteipc's own mappings (pools, ctrl regions): a sanitizer's allocator maps regions of
    // its own as the heap grows, which says nothing about what the connections hold.
    std::ifstream maps(proc + "/maps");
    for (std::string line; std::getline(maps, line);) {
        if (line.find("memfd:liteipc-") == std::string::npos) continue;
        ++held.mappings;
        held.maps.push_back(line);
    }
    std::ifstream status(proc + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0) held.rss_kib = std::stol(line.substr(6));
    return held;
}

// Polls until the service holds at most `fds` fds and `mappings` liteipc mappings, or 10 s pass;
// returns what it holds then.
inline Holdings settle(pid_t service, long fds, long mappings = std::numeric_limits<long>::max()) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    Holdings held = holdings_of(service);
    while ((held.fds > fds || held.mappings > mappings) && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        held = holdings_of(service);
    }
    return held;
}

}  // namespace liteipc::testing
