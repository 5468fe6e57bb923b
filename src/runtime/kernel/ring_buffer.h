// A BPF ring buffer consumer that frees itself: the one owner of libbpf's ring buffer API in
// every liteipc process (the library's inbox, the loader's deaths and monitor rings).
#pragma once

#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "liteipc/error.h"

struct ring_buffer;

namespace liteipc::detail {

class RingBuffer {
public:
    // Runs for each record, on the thread that consumes; the bytes live in the ring until it returns.
    using RecordHandler = std::function<void(std::span<const std::byte> record)>;

    RingBuffer() noexcept = default;
    RingBuffer(RingBuffer&& other) noexcept;
    RingBuffer& operator=(RingBuffer&& other) noexcept;
    RingBuffer(const RingBuffer&) = delete;
    RingBuffer& operator=(const RingBuffer&) = delete;
    ~RingBuffer();

    // A consumer of the ring buffer map `map_fd` (not taken over: the caller keeps it open).
    // `what` names the ring in errors ("the inbox").
    static Result<RingBuffer> open(int map_fd, RecordHandler on_record, const std::string& what);

    // Records of type R, copied out of the ring; a shorter record is skipped with a log line.
    template <typename R>
    static Result<RingBuffer> open_records(int map_fd, std::function<void(const R&)> on_record,
                                           const std::string& what) {
        return open(map_fd, [on_record = std::move(on_record), what](std::span<const std::byte> bytes) {
            if (bytes.size() < sizeof(R)) return skip_short(what, bytes.size(), sizeof(R));
            R record;
            std::memcpy(&record, bytes.data(), sizeof record);
            on_record(record);
        }, what);
    }

    bool valid() const noexcept { return ring_ != nullptr; }
    // Readable when records wait: for the owner's epoll set.
    int epoll_fd() const noexcept;
    // Hands every waiting record to the handler; returns how many.
    Result<int> consume();

private:
    static void skip_short(const std::string& what, std::size_t size, std::size_t expected);

    ring_buffer* ring_ = nullptr;
    std::unique_ptr<RecordHandler> on_record_;  // at a fixed address: libbpf holds a pointer to it
    std::string what_;
};

}  // namespace liteipc::detail
