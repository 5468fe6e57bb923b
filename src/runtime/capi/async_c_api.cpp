// include/liteipc/async.h: the C entry points for asynchronous calls, over Connection::call_async_raw.
#include "liteipc/async.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "capi/context_object.h"
#include "liteipc/ipc.h"

struct liteipc_async_connection {
    std::optional<liteipc::Context> context;
    std::optional<liteipc::Connection> connection;
};

struct liteipc_pending {
    liteipc::PendingReply reply;
};

static_assert(LITEIPC_ASYNC_INVALID_ARGUMENT == static_cast<int>(liteipc::Errc::invalid_argument));
static_assert(LITEIPC_ASYNC_DEAD_OBJECT == static_cast<int>(liteipc::Errc::dead_object));
static_assert(LITEIPC_ASYNC_TIMED_OUT == static_cast<int>(liteipc::Errc::timed_out));
static_assert(LITEIPC_ASYNC_NO_MEMORY == static_cast<int>(liteipc::Errc::no_memory));

namespace {

int failed(const liteipc::Error& error) { return -static_cast<int>(error.code); }

}  // namespace

extern "C" {

int liteipc_async_open(const char* service_name, liteipc_async_connection** connection) {
    if (service_name == nullptr || connection == nullptr) return -LITEIPC_ASYNC_INVALID_ARGUMENT;
    auto context = liteipc::Context::open(liteipc::ContextOptions{});
    if (!context) return failed(context.error());
    auto opened = liteipc::Connection::open(*context, service_name);
    if (!opened) return failed(opened.error());
    auto* made = new (std::nothrow) liteipc_async_connection;
    if (made == nullptr) return -LITEIPC_ASYNC_NO_MEMORY;
    made->context.emplace(std::move(*context));
    made->connection.emplace(std::move(*opened));
    *connection = made;
    return 0;
}

void liteipc_async_close(liteipc_async_connection* connection) {
    if (connection == nullptr) return;
    connection->connection.reset();
    connection->context.reset();
    delete connection;
}

int liteipc_call_async(liteipc_async_connection* connection, uint32_t code, const void* request, size_t size,
                       uint32_t timeout_ms, liteipc_pending** pending) {
    if (connection == nullptr || pending == nullptr || (request == nullptr && size > 0))
        return -LITEIPC_ASYNC_INVALID_ARGUMENT;
    auto published = connection->connection->call_async_raw(
        code, {static_cast<const std::byte*>(request), size}, std::chrono::milliseconds(timeout_ms));
    if (!published) return failed(published.error());
    auto* made = new (std::nothrow) liteipc_pending{std::move(*published)};
    if (made == nullptr) return -LITEIPC_ASYNC_NO_MEMORY;
    *pending = made;
    return 0;
}

int liteipc_completion_fd(liteipc_async_connection* connection) {
    if (connection == nullptr) return -LITEIPC_ASYNC_INVALID_ARGUMENT;
    auto fd = connection->connection->completion_fd();
    return fd ? *fd : failed(fd.error());
}

int liteipc_pending_ready(const liteipc_pending* pending) { return pending != nullptr && pending->reply.ready() ? 1 : 0; }

int liteipc_pending_wait(liteipc_pending* pending, uint32_t timeout_ms, void* reply, size_t capacity,
                         size_t* reply_size, int32_t* status) {
    if (pending == nullptr || (reply == nullptr && capacity > 0)) return -LITEIPC_ASYNC_INVALID_ARGUMENT;
    auto outcome = pending->reply.wait(std::chrono::milliseconds(timeout_ms));
    if (!outcome) return failed(outcome.error());
    const auto bytes = outcome->payload();
    if (capacity > 0) std::memcpy(reply, bytes.data(), std::min(capacity, bytes.size()));
    if (reply_size != nullptr) *reply_size = bytes.size();
    if (status != nullptr) *status = outcome->status();
    return 0;
}

void liteipc_pending_free(liteipc_pending* pending) { delete pending; }

}  // extern "C"
