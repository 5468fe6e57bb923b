// The raw kernel floor: death_floor.bpf.c's sched_process_exit program pushes one record per
// watched pid into its own ringbuf, which a thread of this class consumes. The least any
// ringbuf-based death notification can cost here.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <thread>

#include "cycle.h"

struct death_floor_bpf;
struct ring_buffer;

namespace liteipc::bench::death {

class Floor {
public:
    // Loads the program (not attached yet); nothing, after saying why on stderr, when it cannot.
    static std::unique_ptr<Floor> load(Observations& observations);
    ~Floor();

    // Attaches the program (again: programs on one tracepoint run in the order they were
    // attached, and the first one's consumer is woken first).
    bool attach();
    // Starts the thread that consumes the ringbuf.
    bool start_consuming();
    // The program records `pid`'s death from now on.
    bool watch(pid_t pid);

private:
    explicit Floor(Observations& observations) : observations_(observations) {}
    static int on_record(void* ctx, void* data, size_t size);

    Observations& observations_;
    death_floor_bpf* skeleton_ = nullptr;
    ring_buffer* ring_ = nullptr;
    std::atomic<bool> stop_{false};
    std::thread consumer_;
};

}  // namespace liteipc::bench::death
