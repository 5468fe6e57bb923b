// A connection's data plane: many client threads calling one service over three shared regions.
//
//   ctrl          read-write for both: request ring, call slots, doorbell (channel_layout.h)
//   request pool  written by the client, mapped read-only by the service
//   reply pool    written by the service, mapped read-only by the client
//
// A call claims a slot, writes its request descriptor (payload inline, or a reference into the request
// pool), publishes the slot index on the ring, rings the doorbell if a worker sleeps, and waits on the
// slot's state word for the reply: first spinning briefly, then sleeping on the futex. A worker pops
// slot indices from every connection it serves, runs the handler, writes the reply descriptor and wakes
// the caller only if it sleeps.
//
// The ctrl region is hostile territory: whatever a peer writes there can at worst fail calls on that
// connection (Errc::malformed, Errc::timed_out), never corrupt memory or block the other side past its
// deadline. Pool metadata never leaves the writer's private memory.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "channel_layout.h"
#include "deadline.h"
#include "futex.h"
#include "liteipc/error.h"
#include "mapping.h"
#include "pool.h"

namespace liteipc::detail {

// ---------------------------------------------------------------------------------------------
// Regions

struct ChannelConfig {
    uint32_t slot_count = kDefaultSlotCount;
    uint64_t request_pool_size = 4u << 20;
    uint64_t reply_pool_size = 4u << 20;
};

// Descriptors one side attaches with; the side maps each with the protection its role allows.
struct ChannelFds {
    int ctrl = -1;
    int request_pool = -1;
    int reply_pool = -1;
};

// One side's own descriptors for a connection.
struct PeerFds {
    UniqueFd ctrl;
    UniqueFd request_pool;
    UniqueFd reply_pool;
    ChannelFds view() const noexcept { return {ctrl.get(), request_pool.get(), reply_pool.get()}; }
};

// The three regions of a connection as created: O_RDWR memfds, all sealed against resizing (a peer
// must not be able to truncate a region under the other and make it fault), the ctrl region initialized.
// Whoever creates them (the loader) hands each peer only what its role allows. A read-only fd alone does
// not stop a reader from writing (it can re-open the memfd O_RDWR through /proc): each writer seals its
// pool with F_SEAL_FUTURE_WRITE when it attaches, so attach the writer of a pool before its reader gets it.
struct ChannelRegions {
    UniqueFd ctrl;
    UniqueFd request_pool;
    UniqueFd reply_pool;

    static Result<ChannelRegions> create(const ChannelConfig& config = {});
    // Client: ctrl and request pool read-write, reply pool re-opened read-only.
    Result<PeerFds> for_client() const;
    // Service: ctrl and reply pool read-write, request pool re-opened read-only.
    Result<PeerFds> for_service() const;
};

// A fresh ctrl region: a memfd sized for `slot_count` slots, initialized, sealed against resizing.
Result<UniqueFd> create_ctrl_region(uint32_t slot_count);

// A payload pool: a hugetlb memfd (2 MiB pages, size rounded up) when hugepages are reserved,
// else regular shared memory; sealed against resizing either way.
struct PoolFile {
    UniqueFd fd;
    bool hugepages = false;
};
Result<PoolFile> create_pool(const char* name, uint64_t size, bool try_hugepages = true);

// The writer's side of a pool: mapped read-write, then sealed so that no one else can ever map it
// writable. Do this before the pool's fd reaches the reader.
Result<Mapping> map_writer_pool(int fd);

// Write a fresh header, ring and free slots into a ctrl region of at least
// ChannelGeometry::for_slots(slot_count).region_size bytes.
Result<void> initialize_ctrl_region(std::span<std::byte> region, uint32_t slot_count);

// ---------------------------------------------------------------------------------------------
// The ctrl region seen through a private, validated copy of its geometry.

class ControlView {
public:
    ControlView() = default;
    // Validates the header against the mapping size and keeps a private copy of the geometry.
    static Result<ControlView> attach(std::byte* base, std::size_t size);

    const ChannelGeometry& geometry() const noexcept { return geometry_; }
    uint32_t slot_count() const noexcept { return geometry_.slot_count; }
    ChannelControl& control() const noexcept { return *control_; }
    Doorbell& doorbell() const noexcept { return control_->doorbell; }
    CallSlot& slot(uint32_t index) const noexcept { return slots_[index]; }  // index < slot_count()

    // Publish a slot index. Retries while the ring looks full until the deadline (it never is full with
    // an honest peer: the ring holds at least one cell per slot).
    Result<void> push(uint32_t slot_index, Deadline deadline) const;
    // Take one slot index, or false when empty. The index is NOT validated: it came from the peer.
    bool pop(uint32_t& slot_index) const;
    bool has_pending() const;
    // After a push: wake one sleeping worker, if any (Dekker: fence, then read sleeping_workers).
    void ring_doorbell() const;

private:
    ChannelGeometry geometry_{};
    ChannelControl* control_ = nullptr;
    RingCell* cells_ = nullptr;
    CallSlot* slots_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Client side

struct ClientOptions {
    // How long a caller polls its slot for the reply before sleeping on the futex. 0 = sleep at once.
    std::chrono::nanoseconds spin = std::chrono::microseconds(5);
};

struct CallOptions {
    uint32_t flags = 0;                        // kFlagOneway
    Deadline deadline = Deadline::forever();
    uint32_t fd_count = 0;                     // fds sent ahead on the connection's socket...
    uint64_t fd_batch = 0;                     // ...tagged with this
    uint32_t token = 0;                        // the caller's token (LiteIPC SvcIdentity.token)
};

struct ClientState;

// A request payload being written in place in the request pool (zero-copy), consumed by call_in_place().
class PayloadBuffer {
public:
    PayloadBuffer() = default;
    PayloadBuffer(PayloadBuffer&& other) noexcept;
    PayloadBuffer& operator=(PayloadBuffer&& other) noexcept;
    ~PayloadBuffer();

    std::span<std::byte> bytes() const noexcept { return {data_, length_}; }
    uint64_t size() const noexcept { return length_; }

private:
    friend class ChannelClient;
    std::shared_ptr<ClientState> state_;
    PoolBlock block_{};
    std::byte* data_ = nullptr;
    uint64_t length_ = 0;
};

// The reply to one call. A payload in the reply pool is read in place (read-only mapping); the slot,
// and with it the service's reply block, is held until release() or destruction.
class Reply {
public:
    Reply() = default;
    Reply(Reply&& other) noexcept;
    Reply& operator=(Reply&& other) noexcept;
    ~Reply() { release(); }

    int32_t status() const noexcept { return status_; }
    uint32_t flags() const noexcept { return flags_; }
    uint32_t fd_count() const noexcept { return fd_count_; }
    uint64_t fd_batch() const noexcept { return fd_batch_; }
    std::span<const std::byte> payload() const noexcept {
        return {pool_payload_ ? pool_payload_ : inline_payload_, static_cast<std::size_t>(length_)};
    }
    void release() noexcept;

private:
    friend class ChannelClient;
    std::shared_ptr<ClientState> state_;
    uint32_t held_slot_ = UINT32_MAX;
    int32_t status_ = 0;
    uint32_t flags_ = 0;
    uint32_t fd_count_ = 0;
    uint64_t fd_batch_ = 0;
    uint64_t length_ = 0;
    const std::byte* pool_payload_ = nullptr;
    std::byte inline_payload_[kInlinePayloadCapacity] = {};
};

class ChannelClient {
public:
    ChannelClient() = default;  // empty: every call fails with Errc::closed
    // Maps ctrl read-write, the request pool read-write and the reply pool read-only, then seals the
    // request pool against any other writer (F_SEAL_FUTURE_WRITE). Refuses regions that can be resized.
    static Result<ChannelClient> attach(const ChannelFds& fds, ClientOptions options = {});
    // With the request pool already mapped by map_writer_pool().
    static Result<ChannelClient> attach(int ctrl_fd, Mapping request_pool, int reply_pool_fd,
                                        ClientOptions options = {});

    ChannelClient(ChannelClient&&) noexcept = default;
    ChannelClient& operator=(ChannelClient&&) noexcept = default;
    ~ChannelClient();

    // Send a request and wait for its reply. Safe from many threads at once; each gets its own reply.
    // Payloads above kInlinePayloadCapacity are copied into the request pool; write them in place with
    // allocate_payload() and send them with call_in_place() to avoid that copy. With kFlagOneway,
    // returns an empty Reply once published.
    // `attachments` (blocks from allocate_attachment) belong to the call from here on, whatever
    // its outcome: they are freed once the service is done with the request.
    Result<Reply> call(uint32_t code, std::span<const std::byte> payload, CallOptions options = {},
                       std::span<const uint64_t> attachments = {});
    Result<Reply> call_in_place(uint32_t code, PayloadBuffer payload, CallOptions options = {},
                                std::span<const uint64_t> attachments = {});

    // A request-pool block to write a payload in place. Waits for space until the deadline.
    Result<PayloadBuffer> allocate_payload(uint64_t size, Deadline deadline = Deadline::now());
    // A block of the request pool for data the request refers to (read in place by the service).
    // Hand its offset to call(..., attachments) or give it back with free_attachment().
    Result<std::pair<uint64_t, std::span<std::byte>>> allocate_attachment(uint64_t size, Deadline deadline);
    void free_attachment(uint64_t offset) noexcept;
    // The service's reply pool, read-only: reply attachments live there.
    std::span<const std::byte> reply_pool() const noexcept;

    // The service is gone (reported by the kernel) or the connection is being closed: every pending and
    // future call fails at once with Errc::dead_object. Does not rely on the peer.
    void mark_dead() noexcept;
    bool dead() const noexcept;

    uint32_t slot_count() const noexcept;
    PoolStats request_pool_stats() const;

private:
    explicit ChannelClient(std::shared_ptr<ClientState> state) : state_(std::move(state)) {}
    Result<Reply> submit(uint32_t slot, MessageDescriptor& request, uint64_t request_block, CallOptions options);

    std::shared_ptr<ClientState> state_;
};

// ---------------------------------------------------------------------------------------------
// Service side

// What a handler sees of a request. The payload is either a private copy (inline) or read in place
// from the client's pool through a read-only mapping: its bytes may still change under the reader,
// so parse them as untrusted input (the marshalling layer validates every read).
struct Request {
    uint32_t code = 0;
    uint32_t flags = 0;
    uint32_t sender_tid = 0;
    std::span<const std::byte> payload;
    std::span<const std::byte> peer_pool;  // the client's request pool, read-only: attachments live there
    const void* connection_data = nullptr;  // ChannelServer::set_data(): what the layer above keeps per connection
    uint32_t fd_count = 0;                  // fds the client sent ahead on the connection's socket...
    uint64_t fd_batch = 0;                  // ...tagged with this
    uint64_t call_sequence = 0;             // unique per call on the connection
    uint32_t token = 0;                     // the caller's token (LiteIPC GetToken)
    bool oneway() const noexcept { return (flags & kFlagOneway) != 0; }
};

class ChannelServer;

class ReplyWriter {
public:
    // Space for a reply payload of `size` bytes: inline in the descriptor when small, otherwise a block
    // of the reply pool written in place. A second call replaces the first. Errc::no_memory when the
    // reply pool is full even after reclaiming released replies.
    Result<std::span<std::byte>> allocate(uint64_t size);
    Result<void> write(std::span<const std::byte> bytes);
    bool oneway() const noexcept { return oneway_; }
    // A further block of the reply pool that the reply refers to (a data buffer read in place by
    // the client); freed with the reply. Returns its offset in the pool and its bytes.
    Result<std::pair<uint64_t, std::span<std::byte>>> allocate_attachment(uint64_t size);
    // The reply carries `count` fds sent ahead on the connection's socket, tagged `batch`.
    void set_fds(uint32_t count, uint64_t batch) noexcept {
        reply_.fd_count = count;
        reply_.fd_batch = batch;
    }

private:
    friend class ChannelServer;
    ReplyWriter(ChannelServer& connection, MessageDescriptor& reply, bool oneway) noexcept
        : connection_(connection), reply_(reply), oneway_(oneway) {}
    void drop_block() noexcept;
    std::vector<uint64_t> attachments_;

    ChannelServer& connection_;
    MessageDescriptor& reply_;
    bool oneway_;
    bool has_block_ = false;
    PoolBlock block_{};
};

// A handler returns the status the caller sees in Reply::status().
using Handler = std::function<int32_t(const Request& request, ReplyWriter& reply)>;

class ChannelServer {
public:
    // Maps ctrl read-write, the request pool read-only and the reply pool read-write, then seals the
    // reply pool against any other writer (F_SEAL_FUTURE_WRITE). Refuses regions that can be resized.
    static Result<std::shared_ptr<ChannelServer>> attach(const ChannelFds& fds);
    // With the reply pool already mapped by map_writer_pool().
    static Result<std::shared_ptr<ChannelServer>> attach(int ctrl_fd, int request_pool_fd, Mapping reply_pool);
    ~ChannelServer();

    // Take one request off the ring and serve it; false when the ring is empty.
    bool serve_one(const Handler& handler);
    bool has_pending() const { return !dead() && control_.has_pending(); }
    Doorbell& doorbell() const noexcept { return control_.doorbell(); }

    // The client is gone: stop serving the connection; a Dispatcher drops it and wakes its workers.
    void mark_dead() noexcept;
    bool dead() const noexcept { return dead_.load(std::memory_order_acquire); }

    uint32_t slot_count() const noexcept { return control_.slot_count(); }
    PoolStats reply_pool_stats() const { return reply_allocator_.stats(); }
    // Data the layer above keeps with the connection (the caller's identity); it lives as long as
    // the connection, so a worker serving a request can always use it.
    void set_data(std::shared_ptr<const void> data) noexcept { data_ = std::move(data); }

private:
    friend class ReplyWriter;
    friend class Dispatcher;
    ChannelServer(Mapping ctrl, Mapping request_pool, Mapping reply_pool, ControlView control);

    void serve(uint32_t slot_index, const Handler& handler);
    Result<PoolBlock> allocate_reply_block(uint64_t size);
    // Free reply blocks whose slot the client has released (state no longer REPLY).
    void reclaim_released_replies();
    void set_dispatcher_wake(std::atomic<uint32_t>* wake_word) noexcept;

    Mapping ctrl_;
    Mapping request_pool_;
    Mapping reply_pool_;
    ControlView control_;
    PoolAllocator reply_allocator_;
    std::unique_ptr<std::atomic<bool>[]> slot_busy_;   // a worker is serving the slot
    std::unique_ptr<std::atomic<uint64_t>[]> reply_block_of_slot_;  // offset of its last reply block, or none
    // Further blocks of each slot's last reply, freed with its reply block.
    std::mutex attachments_mutex_;
    std::vector<std::vector<uint64_t>> reply_attachments_of_slot_;
    std::shared_ptr<const void> data_;
    void free_reply_blocks(uint32_t slot, uint64_t main_block) noexcept;
    std::atomic<bool> dead_{false};
    std::mutex wake_mutex_;
    std::atomic<uint32_t>* dispatcher_wake_ = nullptr;
};

struct DispatcherOptions {
    unsigned workers = 1;
    // How long an idle worker polls the rings before sleeping on the doorbells. 0 = sleep at once.
    std::chrono::nanoseconds spin = std::chrono::microseconds(20);
};

// Worker threads serving many connections: pop from any ring; when all are empty, spin briefly, then
// sleep with futex_waitv on every connection's doorbell plus a local wake word (connection added or
// removed, connection dead, stop).
class Dispatcher {
public:
    static constexpr std::size_t kMaxConnections = kMaxFutexWaiters - 1;

    explicit Dispatcher(Handler handler, DispatcherOptions options = {});
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;
    ~Dispatcher() { stop(); }

    Result<void> start();
    Result<void> add(std::shared_ptr<ChannelServer> connection);
    void remove(const ChannelServer* connection);
    // Wakes and joins the workers. Requests still on the rings stay unanswered (callers time out or
    // are failed by their own dead-peer handling).
    void stop();
    std::size_t connection_count() const;

private:
    void worker_main();
    void wake_workers() noexcept;

    Handler handler_;
    DispatcherOptions options_;
    mutable std::mutex mutex_;
    std::vector<std::shared_ptr<ChannelServer>> connections_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<uint32_t> wake_word_{0};
    std::atomic<bool> stopping_{false};
    std::vector<std::thread> workers_;
};

}  // namespace liteipc::detail
