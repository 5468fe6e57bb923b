// The service half of a channel: take a request off the ring, run the handler, publish the reply.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "transport/channel_ctrl.h"
#include "transport/mediated.h"
#include "transport/pool.h"

namespace liteipc::detail {

// What the layer above keeps with each connection it serves (the caller's identity, its socket):
// defined there (api/service.cpp), carried here untouched.
struct ConnectionData;

// A request being served (the service side's view of it, while its handler runs). The payload is
// either a private copy (inline) or read in place from the client's pool through a read-only
// mapping: its bytes may still change under the reader, so parse them as untrusted input (the
// marshalling layer validates every read).
struct ActiveRequest {
    uint32_t code = 0;
    uint32_t flags = 0;
    uint32_t sender_tid = 0;
    std::span<const std::byte> payload;
    std::span<const std::byte> peer_pool;  // the client's request pool, read-only: attachments live there
    const ConnectionData* connection_data = nullptr;  // ChannelServer::set_data()
    uint32_t fd_count = 0;                  // fds the client sent ahead on the connection's socket...
    uint64_t fd_batch = 0;                  // ...tagged with this
    uint64_t call_sequence = 0;             // unique per call on the connection
    uint32_t token = 0;                     // the caller's token (LiteIPC GetToken)
    // A mediated connection's request: the kernel's record of it (sender, code, flags, payload).
    const liteipc_message_record* stamped = nullptr;
    uint64_t deadline_ns = 0;  // the caller's deadline as it stated it, CLOCK_MONOTONIC ns (0: none)
    bool oneway() const noexcept { return (flags & kFlagOneway) != 0; }
};

class ChannelServer;

class ReplyWriter {
public:
    // Space for a reply payload of `size` bytes: inline in the descriptor when small, otherwise a block
    // of the reply pool written in place. A second call replaces the first (attachments stay). A full
    // pool is backpressure: waits for the client to release replies until a little before the caller's
    // deadline, then Errc::no_memory, and the caller gets Errc::no_memory whatever the handler returns.
    Result<std::span<std::byte>> allocate(uint64_t size);
    Result<void> write(std::span<const std::byte> bytes);
    bool oneway() const noexcept { return oneway_; }
    // A further block of the reply pool that the reply refers to (a data buffer read in place by
    // the client); freed with the reply. Returns its offset in the pool and its bytes.
    Result<std::pair<uint64_t, std::span<std::byte>>> allocate_attachment(uint64_t size);
    // The reply carries `count` fds sent ahead on the connection's socket, tagged `batch`.
    void set_fds(uint32_t count, uint64_t batch) noexcept {
        reply_.fd_count = static_cast<uint16_t>(count);  // FdChannel::send refuses more than 32
        reply_.fd_batch = batch;
    }

private:
    friend class ChannelServer;
    ReplyWriter(ChannelServer& connection, MessageDescriptor& reply, bool oneway, uint64_t caller_deadline_ns) noexcept
        : connection_(connection), reply_(reply), oneway_(oneway), caller_deadline_ns_(caller_deadline_ns) {}
    Result<PoolBlock> allocate_block(uint64_t size);
    // Frees the payload block and the attachments: the reply goes out empty.
    void drop_all() noexcept;
    std::vector<uint64_t> attachments_;

    ChannelServer& connection_;
    MessageDescriptor& reply_;
    bool oneway_;
    uint64_t caller_deadline_ns_;              // the request's deadline_ns, as the client claims it
    std::optional<Deadline> space_deadline_;   // set when an allocation first finds the pool full
    bool pool_exhausted_ = false;  // an allocation found the pool full until space_deadline_
    bool has_block_ = false;
    PoolBlock block_{};
};

// A handler returns the status the caller sees in Reply::status().
using Handler = std::function<int32_t(const ActiveRequest& request, ReplyWriter& reply)>;

class ChannelServer {
public:
    // Maps ctrl read-write, the request pool read-only and the reply pool read-write, then seals the
    // reply pool against any other writer (F_SEAL_FUTURE_WRITE). Refuses regions that can be resized.
    static Result<std::shared_ptr<ChannelServer>> attach(const ChannelFds& fds);
    // With the reply pool already mapped by map_writer_pool().
    static Result<std::shared_ptr<ChannelServer>> attach(int ctrl_fd, int request_pool_fd, Mapping reply_pool);
    ~ChannelServer();

    // A mediated connection: requests come only from the kernel's records in `ring`, never from
    // the ctrl region's ring. Set before the connection is served.
    void set_message_ring(MessageRing ring);
    bool mediated() const noexcept { return message_ring_.valid(); }

    // Take one request off the ring and serve it; false when the ring is empty.
    bool serve_one(const Handler& handler);
    // The same in two steps: take a slot index off the ring (false when empty), then serve it.
    bool take(uint32_t& slot_index) {
        if (dead()) return false;
        return mediated() ? take_stamped(slot_index) : control_.pop(slot_index);
    }
    void serve(uint32_t slot_index, const Handler& handler);
    bool has_pending() const {
        return !dead() && (mediated() ? message_ring_.has_pending() : control_.has_pending());
    }
    // has_pending() for a worker that polls: it also asks for the request lines of the slot served
    // last, which a caller calling again most likely reuses. They then travel beside the ring cell
    // instead of after it (the cell names the slot), one cache-line transfer fewer in series.
    bool poll_pending() const {
        prefetch_request(control_.slot(last_served_slot_.load(std::memory_order_relaxed)));
        return has_pending();
    }
    // No worker polls the connection any more: its client's next request rings the doorbell.
    void arm_doorbell() const noexcept { control_.arm_doorbell(); }
    void disarm_doorbell() const noexcept { control_.disarm_doorbell(); }

    // The client is gone: serve nothing more on this connection (its owner removes it from the Dispatcher).
    void mark_dead() noexcept { dead_.store(true, std::memory_order_release); }
    bool dead() const noexcept { return dead_.load(std::memory_order_acquire); }

    uint32_t slot_count() const noexcept { return control_.slot_count(); }
    PoolStats reply_pool_stats() const { return reply_allocator_.stats(); }
    // Data the layer above keeps with the connection (the caller's identity); it lives as long as
    // the connection, so a worker serving a request can always use it.
    void set_data(std::shared_ptr<const ConnectionData> data) noexcept { data_ = std::move(data); }

private:
    friend class ReplyWriter;
    ChannelServer(Mapping ctrl, Mapping request_pool, Mapping reply_pool, ControlView control);

    // `space_deadline` is asked only when the pool is full.
    Result<PoolBlock> allocate_reply_block(uint64_t size, const std::function<Deadline()>& space_deadline);
    // Free reply blocks whose reply the client announced released (released_sequence).
    void reclaim_released_replies();
    // Mediated: the next kernel record whose slot is in range and free; the slot is then held
    // (slot_busy_) with its record in stamped_of_slot_ until serve() is done with it.
    bool take_stamped(uint32_t& slot_index);
    static void prefetch_request(const CallSlot& slot) noexcept {
        __builtin_prefetch(&slot.request);
        __builtin_prefetch(&slot.request.inline_payload);
    }
    std::atomic<uint32_t> last_served_slot_{0};  // < slot count; a hint only
    // Declared first, so destroyed last: the layer above keeps the connection's socket in it, and
    // the socket closes only after every mapping of the connection is gone. Whoever sees the
    // socket closed (a peer, a test counting fds) then sees no mapping left either.
    std::shared_ptr<const ConnectionData> data_;
    MessageRing message_ring_;
    std::unique_ptr<liteipc_message_record[]> stamped_of_slot_;

    Mapping ctrl_;
    Mapping request_pool_;
    Mapping reply_pool_;
    ControlView control_;
    PoolBlockAllocator reply_allocator_;
    std::unique_ptr<std::atomic<bool>[]> slot_busy_;   // a worker is serving the slot
    std::unique_ptr<std::atomic<uint64_t>[]> reply_block_of_slot_;  // offset of its last reply block, or none
    // Further blocks of each slot's last reply, freed with its reply block.
    std::mutex attachments_mutex_;
    std::vector<std::vector<uint64_t>> reply_attachments_of_slot_;
    void free_reply_blocks(uint32_t slot, uint64_t main_block) noexcept;
    // A oneway batch: each message to the handler in order, after every batch published before it.
    void serve_batch(const ActiveRequest& batch, uint64_t place, const Handler& handler, ReplyWriter& none);
    std::atomic<bool> dead_{false};
    std::atomic<uint64_t> next_batch_{1};  // the place in the stream of batches served next
    std::atomic<uint32_t> batches_in_service_{0};
};

}  // namespace liteipc::detail
