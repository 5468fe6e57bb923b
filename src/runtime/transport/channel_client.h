// The client half of a channel: claim a call slot, publish the request, wait for the reply.
#pragma once

#include <atomic>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "transport/channel_ctrl.h"
#include "transport/mediated.h"
#include "transport/pool.h"

namespace liteipc::detail {

struct ClientOptions {
    // How long a caller polls its slot for the reply before sleeping on the futex. 0 = sleep at once.
    std::chrono::nanoseconds spin = std::chrono::microseconds(5);
    // Set for a mediated service: each request goes to the kernel's send program, not the ctrl ring.
    std::optional<MediatedSender> mediated = std::nullopt;
};

// A call published without waiting for its reply (CallOptions::async): collect the reply with
// ChannelClient::finish_async, or give the call up with abandon_async.
struct AsyncCall {
    uint32_t slot = UINT32_MAX;
    uint32_t code = 0;
    uint64_t sequence = 0;
    bool pending() const noexcept { return slot != UINT32_MAX; }
};

struct CallOptions {
    uint32_t flags = 0;                        // kFlagOneway, kFlagOneway | kFlagBatch
    Deadline deadline = Deadline::forever();
    uint32_t fd_count = 0;                     // fds sent ahead on the connection's socket...
    uint64_t fd_batch = 0;                     // ...tagged with this
    uint32_t token = 0;                        // the caller's token (LiteIPC SvcIdentity.token)
    AsyncCall* async = nullptr;                // set: publish, fill *async, return an empty ReceivedReply
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
    // Send only the first `size` bytes (the block stays as allocated).
    void shrink(uint64_t size) noexcept { length_ = std::min(length_, size); }

private:
    friend class ChannelClient;
    std::shared_ptr<ClientState> state_;
    PoolBlock block_{};
    std::byte* data_ = nullptr;
    uint64_t length_ = 0;
};

// A reply as its caller received it (the client side's view; liteipc::Reply wraps it). A payload in
// the reply pool is read in place (read-only mapping); the slot, and with it the service's reply
// block, is held until release() or destruction.
class ReceivedReply {
public:
    ReceivedReply() = default;
    // Only a ChannelClient makes the key: builds a reply from the validated private copy of its
    // descriptor's header, copying inline bytes into the ReceivedReply. Holding `held_slot` keeps the
    // service's reply block (a pool payload) until release().
    class Key {
        friend class ChannelClient;
        Key() = default;
    };
    ReceivedReply(Key, const MessageDescriptor& header, std::span<const std::byte> payload,
          std::shared_ptr<ClientState> holder, uint32_t held_slot) noexcept;
    ReceivedReply(ReceivedReply&& other) noexcept;
    ReceivedReply& operator=(ReceivedReply&& other) noexcept;
    ~ReceivedReply() { release(); }

    int32_t status() const noexcept { return status_; }
    uint32_t flags() const noexcept { return flags_; }
    uint32_t fd_count() const noexcept { return fd_count_; }
    uint64_t fd_batch() const noexcept { return fd_batch_; }
    std::span<const std::byte> payload() const noexcept {
        return {pool_payload_ ? pool_payload_ : inline_payload_, static_cast<std::size_t>(length_)};
    }
    void release() noexcept;
    // The service's reply pool (read-only), where the buffers a reply refers to live, while this
    // reply holds its payload there; else empty (a reply with buffers always has its payload there).
    std::span<const std::byte> reply_pool() const noexcept;

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
    // Only the first length_ bytes are ever written or read: not zeroed, which would cost three cache
    // lines per reply and per move.
    std::byte inline_payload_[kInlinePayloadCapacity];
};

class ChannelClient {
public:
    ChannelClient() = default;  // empty: every call fails with Errc::closed
    // Maps ctrl read-write, the request pool read-write and the reply pool read-only, then seals the
    // request pool against any other writer (F_SEAL_FUTURE_WRITE). Refuses regions that can be resized.
    // Rings the service through a copy of fds.doorbell.
    static Result<ChannelClient> attach(const ChannelFds& fds, ClientOptions options = {});
    // With the request pool already mapped by map_writer_pool(), and the doorbell the service sent.
    static Result<ChannelClient> attach(int ctrl_fd, Mapping request_pool, int reply_pool_fd, UniqueFd doorbell,
                                        ClientOptions options = {});

    ChannelClient(ChannelClient&&) noexcept = default;
    ChannelClient& operator=(ChannelClient&&) noexcept = default;
    ~ChannelClient();

    // Send a request and wait for its reply. Safe from many threads at once; each gets its own reply.
    // Payloads above kInlinePayloadCapacity are copied into the request pool; write them in place with
    // allocate_payload() and send them with call_in_place() to avoid that copy. With kFlagOneway,
    // returns an empty ReceivedReply once published.
    // `attachments` (blocks from allocate_attachment) belong to the call from here on, whatever
    // its outcome: they are freed once the service is done with the request.
    Result<ReceivedReply> call(uint32_t code, std::span<const std::byte> payload, CallOptions options = {},
                       std::span<const uint64_t> attachments = {});
    Result<ReceivedReply> call_in_place(uint32_t code, PayloadBuffer payload, CallOptions options = {},
                                std::span<const uint64_t> attachments = {});

    // A request-pool block to write a payload in place. Waits for space until the deadline.
    Result<PayloadBuffer> allocate_payload(uint64_t size, Deadline deadline = Deadline::now());
    // A block of the request pool for data the request refers to (read in place by the service).
    // Hand its offset to call(..., attachments) or give it back with free_attachment().
    Result<std::pair<uint64_t, std::span<std::byte>>> allocate_attachment(uint64_t size, Deadline deadline);
    void free_attachment(uint64_t offset) noexcept;

    // The reply of an async call is in (or the connection died): finish_async will not wait.
    bool async_ready(const AsyncCall& call) const noexcept;
    // Waits for the reply until the deadline. Errc::timed_out leaves the call pending (wait again or
    // abandon it); any other outcome ends it.
    Result<ReceivedReply> finish_async(AsyncCall& call, Deadline deadline);
    // No one will collect the reply: the slot comes back once the service has answered.
    void abandon_async(AsyncCall& call) noexcept;
    // An eventfd, readable once a reply of an async call is in or the connection died (read it to
    // rearm, then check async_ready on the calls). Started on first use: a thread sleeps on the
    // pending calls' slots for it.
    Result<int> completion_fd();

    // The service is gone (reported by the kernel) or the connection is being closed: every pending and
    // future call fails at once with Errc::dead_object. Does not rely on the peer.
    void mark_dead() noexcept;
    bool dead() const noexcept;
    // mark_dead() for a death callback: holds the channel's state only while it runs, so the
    // callback's thread never ends up destroying the connection above it.
    class DeathMark {
    public:
        void operator()() const noexcept;

    private:
        friend class ChannelClient;
        std::weak_ptr<ClientState> state_;
    };
    DeathMark death_mark() const noexcept;

    uint32_t slot_count() const noexcept;
    PoolStats request_pool_stats() const;

private:
    explicit ChannelClient(std::shared_ptr<ClientState> state) : state_(std::move(state)) {}
    Result<ReceivedReply> submit(uint32_t slot, MessageDescriptor& request, uint64_t request_block,
                                 CallOptions options);
    Result<uint64_t> publish(uint32_t slot, MessageDescriptor& request, uint64_t request_block, const CallOptions& options);
    Result<ReceivedReply> complete(uint32_t slot, uint32_t code, uint64_t sequence, Deadline deadline,
                                   bool keep_on_timeout = false);
    Result<ReceivedReply> take_reply(uint32_t slot, const MessageDescriptor& header,
                                     std::span<const std::byte> payload);

    std::shared_ptr<ClientState> state_;
};

}  // namespace liteipc::detail
