// A service's data-plane counters: the loader's per-service mmapable array ("svc_traffic" in the
// pin root), mapped read-write by the owner. Counting is a relaxed atomic add in shared memory, no
// syscall per message; `bpftool map dump` and `liteipc stats` read the same words.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

#include "liteipc/error.h"
#include "liteipc_abi.h"
#include "common/mapping.h"

namespace liteipc::detail {

class ServiceTraffic {
public:
    ServiceTraffic() = default;  // counts nothing (no loader-provided map)
    ServiceTraffic(ServiceTraffic&& other) noexcept
        : mapping_(std::move(other.mapping_)), counters_(std::exchange(other.counters_, nullptr)) {}
    ServiceTraffic& operator=(ServiceTraffic&& other) noexcept {
        mapping_ = std::move(other.mapping_);
        counters_ = std::exchange(other.counters_, nullptr);
        return *this;
    }
    static Result<ServiceTraffic> attach(int map_fd);

    // One message the service handled: `bytes` of request payload, its handler's `status`.
    void count_message(bool oneway, uint64_t bytes, int32_t status) noexcept {
        if (!counters_) return;
        add(oneway ? counters_->oneway : counters_->calls, 1);
        add(counters_->bytes, bytes);
        if (status != 0) add(counters_->errors, 1);
    }
    void count_reply_bytes(uint64_t bytes) noexcept {
        if (counters_) add(counters_->bytes, bytes);
    }
    // A reply that could not go because the caller died or its deadline passed. The message's
    // non-zero status counts it under errors as well (count_message).
    void count_lost_reply(Errc why, bool caller_alive) noexcept {
        if (!counters_) return;
        if (!caller_alive) add(counters_->dead_object, 1);
        else if (why == Errc::timed_out) add(counters_->timeouts, 1);
    }

private:
    static void add(__u64& word, uint64_t n) noexcept {
        std::atomic_ref<__u64>(word).fetch_add(n, std::memory_order_relaxed);
    }
    Mapping mapping_;
    liteipc_svc_traffic* counters_ = nullptr;
};

}  // namespace liteipc::detail
