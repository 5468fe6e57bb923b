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

// What the forging publisher of a mediated topic does when told (peers/mediated_topic_peers.cpp).
enum class TopicForgery : uint32_t {
    wrong_size = 1,           // publishes a sample, then rewrites its queue entry's size by hand
    unstamped_sequence = 2,   // publishes a sample, then rewrites its entry's sequence by hand
    honest = 3,               // publishes a sample and leaves it be
    kernel_records = 4,       // runs the send program itself with records outside its pool
};

struct TopicForgeryReport {
    int64_t result = -1;  // 0 once the step was taken
    uint64_t sequence = 0;         // the sample published (the sequence the kernel stamped)
    int32_t slot_past_end = 0;     // kernel_records: the send program's results
    int32_t wrapping_length = 0;
    int32_t stale_sequence = 0;
    int32_t pad = 0;
};

}  // namespace liteipc::testing
