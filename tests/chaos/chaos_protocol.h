// What the chaos test's driver and its peers (services and clients in their own processes) say to
// each other, and the byte patterns every request and reply carries so that both ends check them.
#pragma once

#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>

#include "../support/service_codes.h"

namespace liteipc::chaos {

using namespace ::liteipc::testing::chaos_codes;

// A sender key names one connection of one client process: its pid and the connection's serial.
inline uint64_t sender_key(uint32_t pid, uint32_t serial) { return (uint64_t{pid} << 32) | serial; }

// The bytes for (key, seq): both ends derive them, so a byte out of place is seen.
inline void fill_pattern(std::span<std::byte> out, uint64_t key, uint64_t seq) {
    uint64_t state = key * 0x9e3779b97f4a7c15ULL ^ seq * 0xc2b2ae3d27d4eb4fULL ^ out.size();
    for (std::byte& b : out) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        b = static_cast<std::byte>(state >> 56);
    }
}
inline bool pattern_matches(std::span<const std::byte> in, uint64_t key, uint64_t seq) {
    uint64_t state = key * 0x9e3779b97f4a7c15ULL ^ seq * 0xc2b2ae3d27d4eb4fULL ^ in.size();
    for (std::byte b : in) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        if (b != static_cast<std::byte>(state >> 56)) return false;
    }
    return true;
}

inline uint64_t monotonic_ns() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000ULL + uint64_t(ts.tv_nsec);
}

// Peer -> driver, over the report pipe. One record per write (smaller than PIPE_BUF, so records
// from several threads never interleave).
enum class EventKind : uint32_t {
    ready = 1,          // v: slot, generation, pid
    progress,           // v: calls replied, dead_object, timed_out, oneway sent   (deltas)
    violation,          // v[0]: Violation; text: the evidence
    late_call,          // v: service index, started ns, ended ns, timeout ms, error code
    connect_timeout,    // v: service index, started ns, ended ns
    oneway_tally,       // client: v: service index, service pid, sender key, messages sent
    subscription_tally, // client: v: service pid, service generation, notices
    received_tally,     // service: v: sender key, messages received
    resources,          // v: connections, fds, mappings, fds at start, mappings at start
    done,               // end of the answer to a command
};

enum class Violation : uint32_t {
    late_call = 1,
    wrong_error,
    reply_bytes,
    request_bytes,
    held_reply_changed,
    oneway_duplicate,
    oneway_lost,
    death_notice_twice,
    death_notice_missing,
    death_notice_spurious,
    connect_lost,
    service_resources,
    client_resources,
    kernel_entries,
    hugepages,
    loader_memory,
    peer_failed,
};

struct Event {
    EventKind kind;
    uint32_t reserved = 0;
    uint64_t v[6] = {};
    char text[176] = {};
};
static_assert(sizeof(Event) == 232);

// Driver -> peer, one byte each.
enum Command : char {
    kQuiesce = 'q',  // client: stop the load, report tallies, keep connections
    kClose = 'c',    // client: close every connection, report own resources
    kReport = 'r',   // service: report received tallies and resources
};

}  // namespace liteipc::chaos
