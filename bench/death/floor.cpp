#include "floor.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "death_floor.skel.h"

namespace liteipc::bench::death {
namespace {

// Mirrors struct floor_record in death_floor.bpf.c.
struct FloorRecord {
    uint32_t tgid;
    uint32_t pad;
    uint64_t timestamp_ns;
};

}  // namespace

std::unique_ptr<Floor> Floor::load(Observations& observations) {
    libbpf_set_print(nullptr);
    std::unique_ptr<Floor> floor(new Floor(observations));
    floor->skeleton_ = death_floor_bpf::open_and_load();
    if (!floor->skeleton_) {
        std::fprintf(stderr, "loading death_floor.bpf.o failed: %s\n", std::strerror(errno));
        return nullptr;
    }
    return floor;
}

Floor::~Floor() {
    stop_ = true;
    if (consumer_.joinable()) consumer_.join();
    if (ring_) ring_buffer__free(ring_);
    if (skeleton_) death_floor_bpf::destroy(skeleton_);
}

bool Floor::attach() {
    if (skeleton_->links.floor_on_exit) {
        bpf_link__destroy(skeleton_->links.floor_on_exit);
        skeleton_->links.floor_on_exit = nullptr;
    }
    if (death_floor_bpf::attach(skeleton_) != 0) {
        std::fprintf(stderr, "attaching death_floor to sched_process_exit failed: %s\n", std::strerror(errno));
        return false;
    }
    return true;
}

bool Floor::start_consuming() {
    ring_ = ring_buffer__new(bpf_map__fd(skeleton_->maps.floor_events), on_record, &observations_, nullptr);
    if (!ring_) {
        std::fprintf(stderr, "ring_buffer__new on the floor ringbuf failed: %s\n", std::strerror(errno));
        return false;
    }
    consumer_ = std::thread([this] {
        while (!stop_.load(std::memory_order_relaxed)) {
            int n = ring_buffer__poll(ring_, 100);
            if (n < 0 && n != -EINTR) {
                std::fprintf(stderr, "ring_buffer__poll: %s\n", std::strerror(-n));
                break;
            }
        }
    });
    return true;
}

bool Floor::watch(pid_t pid) {
    uint32_t key = static_cast<uint32_t>(pid), one = 1;
    return bpf_map__update_elem(skeleton_->maps.watched, &key, sizeof key, &one, sizeof one, BPF_ANY) == 0;
}

int Floor::on_record(void* ctx, void* data, size_t size) {
    uint64_t t = now_ns();
    auto* observations = static_cast<Observations*>(ctx);
    if (size < sizeof(FloorRecord)) return 0;
    FloorRecord rec;
    std::memcpy(&rec, data, sizeof rec);
    std::lock_guard lock(observations->mutex);
    auto it = observations->by_pid.find(rec.tgid);
    if (it == observations->by_pid.end()) {
        observations->floor_strays++;
        return 0;
    }
    Cycle* c = it->second;
    if (c->floor_count.fetch_add(1) == 0) {
        c->floor_ns = t;
        c->floor_kernel_ns = rec.timestamp_ns;
    }
    observations->changed.notify_all();
    return 0;
}

}  // namespace liteipc::bench::death
