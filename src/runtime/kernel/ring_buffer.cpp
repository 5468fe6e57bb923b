#include "kernel/ring_buffer.h"

#include <bpf/libbpf.h>

#include <utility>

#include "common/log.h"

namespace liteipc::detail {

RingBuffer::RingBuffer(RingBuffer&& other) noexcept
    : ring_(std::exchange(other.ring_, nullptr)), on_record_(std::move(other.on_record_)),
      what_(std::move(other.what_)) {}

RingBuffer& RingBuffer::operator=(RingBuffer&& other) noexcept {
    if (this != &other) {
        if (ring_) ring_buffer__free(ring_);
        ring_ = std::exchange(other.ring_, nullptr);
        on_record_ = std::move(other.on_record_);
        what_ = std::move(other.what_);
    }
    return *this;
}

RingBuffer::~RingBuffer() {
    if (ring_) ring_buffer__free(ring_);
}

Result<RingBuffer> RingBuffer::open(int map_fd, RecordHandler on_record, const std::string& what) {
    RingBuffer ring;
    ring.what_ = what;
    ring.on_record_ = std::make_unique<RecordHandler>(std::move(on_record));
    auto trampoline = [](void* handler, void* data, size_t size) -> int {
        (*static_cast<RecordHandler*>(handler))(std::span(static_cast<const std::byte*>(data), size));
        return 0;
    };
    ring.ring_ = ring_buffer__new(map_fd, trampoline, ring.on_record_.get(), nullptr);
    if (!ring.ring_) return fail_errno("ring buffer on " + what, Errc::kernel);
    return ring;
}

int RingBuffer::epoll_fd() const noexcept { return ring_ ? ring_buffer__epoll_fd(ring_) : -1; }

Result<int> RingBuffer::consume() {
    if (!ring_) return fail(Errc::closed, "consume of " + what_ + ": no ring buffer");
    int n = ring_buffer__consume(ring_);
    if (n < 0) {
        errno = -n;
        return fail_errno("consume of " + what_, Errc::kernel);
    }
    return n;
}

void RingBuffer::skip_short(const std::string& what, std::size_t size, std::size_t expected) {
    LITEIPC_LOG(warn, "%s: a record of %zu bytes, shorter than %zu: skipped", what.c_str(), size, expected);
}

}  // namespace liteipc::detail
