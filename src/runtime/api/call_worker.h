// How a service's worker makes a Call over a request it serves, and reads back, once the handler
// returned, how the call was answered. Out of the public header: no user makes a Call.
#pragma once

#include <memory>
#include <optional>
#include <span>

#include "liteipc/ipc.h"
#include "transport/channel_server.h"

namespace liteipc {

struct Call::Worker {
    uint32_t code = 0;
    uint32_t flags = 0;
    uint32_t token = 0;
    Caller caller;
    std::span<const std::byte> payload;
    ReaderOptions reader_options;
    std::span<std::byte> reply_buffer;            // reply()'s buffer
    PoolAllocator* reply_pool = nullptr;          // null for a oneway call
    detail::ReplyWriter* reply_writer = nullptr;  // the transport's reply descriptor, for reply_raw()
    uint64_t deadline_ns = 0;

    // The Worker must outlive the Call.
    Call start() const { return Call(*this); }

    static bool replied_raw(const Call& call) { return call.replied_raw_; }
    static void close_reply_fd_copies(Call& call) { call.close_reply_fd_copies(); }
    static std::optional<std::span<const std::byte>> adopted_reply(const Call& call) {
        if (call.adopted_reply_size_ == 0) return std::nullopt;
        return std::span<const std::byte>(call.reply_buffer_.data(), call.adopted_reply_size_);
    }
    // Set once the handler kept the call (Call::defer).
    static const std::shared_ptr<PendingCall::State>& pending(const Call& call) { return call.pending_; }
};

}  // namespace liteipc
