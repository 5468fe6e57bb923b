// The plug-in point of ipc_bench: one transport = one class implementing Transport.
//
// Life of one measurement job (one transport, one regime, one payload size):
//
//   harness process           setup(job)                       shared state made before fork
//     fork -> server child    serve()                          until the client's stop message
//     fork -> client child    connect(); round_trip() x N;     then stop(); results go back to the
//                             stream(); stop()                 harness through a pipe
//   harness process           teardown()                       after both children exited
//
// The client runs in a child of its own, not in the harness process, so that every job starts
// from a fresh process on both sides (runtimes such as iceoryx's can be initialised only once
// per process, and a fork of an initialised runtime is not a usable runtime).
//
// Rules every transport follows, so that zero copy shows what it saves and not skipped work:
//   - the sender writes every payload byte with fill_payload() (into the shared buffer itself
//     for zero-copy transports), the receiver reads every payload byte in place with
//     check_payload(); a checksum mismatch is an error of the job;
//   - a round trip carries `payload` bytes each way; a stream sends `count` messages of
//     `payload` bytes one way and ends with one acknowledgement the client waits for.
//
// Adding a transport: write bench/rtt/<name>_transport.cpp defining a factory
// `std::unique_ptr<Transport> make_<name>_transport()` and add one line to registry.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "liteipc/error.h"

namespace liteipc::bench {

// How a receiver waits for the next message.
enum class Regime : std::uint8_t {
    busy,      // spin (poll without sleeping)
    blocking,  // sleep in the kernel until woken
};

constexpr std::string_view to_string(Regime r) noexcept {
    return r == Regime::busy ? "busy" : "blocking";
}

// Everything a transport needs to know about one job.
struct JobSpec {
    Regime regime = Regime::busy;
    std::size_t payload = 64;       // bytes per message, each way
    std::uint64_t job_id = 0;       // unique per run: names services, files, segments
    std::uint64_t stream_count = 0; // messages the stream phase will send (for queue sizing)
};

// What the harness asks of one transport. Methods returning Result report failure with the
// step that failed; the harness prints it and goes on with the next job.
class Transport {
public:
    virtual ~Transport() = default;

    // Short stable name, used on the command line, in tables and in the CSV ("unix-seqpacket").
    virtual std::string_view name() const = 0;

    // std::nullopt when the job can run; otherwise why not (printed once per skipped job).
    virtual std::optional<std::string> unsupported(Regime regime, std::size_t payload) const = 0;

    // Once per run in the harness process, before the first job of this transport (start a
    // daemon, probe the kernel). An error here skips every job of this transport.
    virtual Result<> open_run() { return {}; }
    // Once per run in the harness process, after the last job (stop what open_run started).
    virtual void close_run() {}

    // Harness process, before fork: create what both children inherit (mappings, sockets).
    virtual Result<> setup(const JobSpec& job) = 0;

    // Server child: answer round trips and absorb streams until the client's stop message.
    virtual Result<> serve() = 0;

    // Client child: attach to the server; returns when the first message can be sent.
    virtual Result<> connect() = 0;
    // Client child: one request of job.payload bytes filled for `seq`, wait for the reply of
    // job.payload bytes and check it. Returns only after every reply byte was read.
    virtual Result<> round_trip(std::uint64_t seq) = 0;
    // Client child: `count` one-way messages (sequence numbers first_seq...), then wait for the
    // server's acknowledgement that it has read and checked all of them.
    virtual Result<> stream(std::uint64_t first_seq, std::uint64_t count) = 0;
    // Client child, optional: `calls` small calls kept `depth` at a time in flight from one thread
    // (asynchronous calls), then the same number of calls from `depth` threads that each block on
    // theirs. Returns calls per second of each (zeros: not measured).
    struct InFlight {
        double async_calls_per_s = 0;
        double threads_calls_per_s = 0;
    };
    virtual Result<InFlight> in_flight(std::size_t /*depth*/, std::uint64_t /*calls*/) { return InFlight{}; }
    // Client child: tell the server to return from serve().
    virtual Result<> stop() = 0;

    // Harness process, after both children exited: release what setup() made.
    virtual void teardown() = 0;
};

// The list of every transport ipc_bench knows, in table order (registry.cpp).
std::vector<std::unique_ptr<Transport>> make_all_transports();

// Names the report treats specially (floors and reference peers).
inline constexpr std::string_view kShmSpin = "shm-spin";            // busy in-place floor
inline constexpr std::string_view kShmFutex = "shm-futex";          // blocking in-place floor
inline constexpr std::string_view kShmCopySpin = "shm-copy-spin";   // busy copying floor
inline constexpr std::string_view kShmCopyFutex = "shm-copy-futex"; // blocking copying floor
inline constexpr std::string_view kAtomic8 = "atomic8";             // one word each way: the busy limit
inline constexpr std::string_view kUnixSeqpacket = "unix-seqpacket";
inline constexpr std::string_view kIceoryx = "iceoryx";
inline constexpr std::string_view kLiteipc = "liteipc";
inline constexpr std::string_view kLiteipcMediated = "liteipc-mediated";  // a mediated service

}  // namespace liteipc::bench
