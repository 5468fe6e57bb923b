/* Asynchronous calls from C: many raw calls in flight on one connection, completion through a
 * file descriptor an event loop watches (poll/epoll, libuv's uv_poll, ...).
 *
 *   liteipc_async_connection* echo;
 *   liteipc_async_open("demo.echo", &echo);
 *   liteipc_pending* call;
 *   liteipc_call_async(echo, 1, "hi", 2, 500, &call);
 *   struct pollfd watch = {liteipc_completion_fd(echo), POLLIN, 0};
 *   poll(&watch, 1, -1);                                   // a reply is in (read the fd to rearm)
 *   if (liteipc_pending_ready(call)) liteipc_pending_wait(call, 0, buffer, sizeof buffer, &size, &status);
 *   liteipc_pending_free(call);
 *   liteipc_async_close(echo);
 *
 * Payloads are raw bytes: the service reads them with Call::payload() and answers with
 * Call::reply_raw(). Functions return 0 or a negative liteipc::Errc value (-LITEIPC_ASYNC_*). */
#ifndef LITEIPC_ASYNC_H
#define LITEIPC_ASYNC_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    LITEIPC_ASYNC_INVALID_ARGUMENT = 1,
    LITEIPC_ASYNC_DEAD_OBJECT = 5,
    LITEIPC_ASYNC_TIMED_OUT = 6,
    LITEIPC_ASYNC_NO_MEMORY = 7,
};

typedef struct liteipc_async_connection liteipc_async_connection;
typedef struct liteipc_pending liteipc_pending;

/* Connects to a service through the loader the environment names (LITEIPC_SOCKET, LITEIPC_PIN_ROOT). */
LITEIPC_API int liteipc_async_open(const char* service_name, liteipc_async_connection** connection);
/* Gives up every call still pending on it; the liteipc_pending handles must be freed before. */
LITEIPC_API void liteipc_async_close(liteipc_async_connection* connection);
/* Publishes a call and returns at once; timeout_ms bounds the wait for a free slot (0: default). */
LITEIPC_API int liteipc_call_async(liteipc_async_connection* connection, uint32_t code, const void* request,
                                   size_t size, uint32_t timeout_ms, liteipc_pending** pending);
/* An eventfd owned by the connection, readable once a reply is in or the service died; < 0 on error. */
LITEIPC_API int liteipc_completion_fd(liteipc_async_connection* connection);
/* 1 when liteipc_pending_wait will not wait, else 0. */
LITEIPC_API int liteipc_pending_ready(const liteipc_pending* pending);
/* Waits up to timeout_ms (0: default) and copies up to `capacity` reply bytes; *reply_size gets
 * the reply's full size, *status the handler's status. -LITEIPC_ASYNC_TIMED_OUT leaves the call
 * pending; -LITEIPC_ASYNC_DEAD_OBJECT when the service died. */
LITEIPC_API int liteipc_pending_wait(liteipc_pending* pending, uint32_t timeout_ms, void* reply, size_t capacity,
                                     size_t* reply_size, int32_t* status);
/* A call never waited for is given up. */
LITEIPC_API void liteipc_pending_free(liteipc_pending* pending);

#ifdef __cplusplus
}
#endif

#endif
