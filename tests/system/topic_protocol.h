// What the topic tests and their peers (peers/topic_peers.cpp) tell each other.
#pragma once

#include <cstdint>
#include <cstddef>

namespace liteipc::testing {

// A sample of sequence n is topic_sample_size(n) bytes of stream_byte(n, i) (test_processes.h).
inline std::size_t topic_sample_size(uint64_t sequence) { return 64 + (sequence * 37) % 900; }

struct TopicSubscribed {
    int64_t result;  // 0, or the liteipc::Errc of the refusal
    int64_t pid;
};

struct TopicTally {
    int64_t status = 0;  // 0, or the Errc that ended the reading
    uint64_t received = 0;
    uint64_t mismatches = 0;  // samples whose size or bytes differ from what was published
    uint64_t gaps = 0;        // jumps in the sequence
    uint64_t first_sequence = 0;
    uint64_t last_sequence = 0;
    uint64_t dropped = 0;     // counted by the publisher in this subscriber's queue
};

}  // namespace liteipc::testing
