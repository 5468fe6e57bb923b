// What the liteipc_adapter_*.cpp files and liteipc_requests.cpp share: LiteIPC error codes, the requests a C
// handler holds and the replies a C caller holds.
#pragma once

#include <cstdint>
#include <span>

#include "liteipc/ipc.h"
#include "liteipc/liteipc_adapter.h"

namespace liteipc::capi {

// ---- errors ----
int32_t code_of(Errc code);
// A reply status as SendRequest returns it.
int32_t status_code(int32_t status);
// Logs a failure of `what` and returns its LiteIPC code.
int32_t report(const char* what, const Error& error);
int32_t invalid(const char* what, const char* why);

// ---- messages ----
// An empty sealed message: the request of SendRequest(data == NULL), the data of a death notice.
std::span<const std::byte> empty_message();
// Where an IpcIo is gathered into a message before it is sent (per thread).
std::span<std::byte> staging();
// Opens the request of `call` in `io` (a private copy, per thread).
void open_request(Call& call, IpcIo* io);

// ---- requests ----
// Runs a C handler on `call` to the local service `service`; the status the caller sees. A request
// the handler did not release is kept until SendReply or FreeBuffer releases it.
int32_t run_handler(Call& call, uint32_t service, uint32_t token, IpcIo& io, IpcMsgHandler handler, void* arg,
                    const IpcContext* context);
// Fails every request kept for the local service `handle` (0: every one), so its workers let go.
void fail_kept_requests(uint32_t handle);
// Runs a death callback with an ipcMsg as LiteIPC's death notice (GetToken: the dead handle).
void run_death_handler(const IpcContext* context, uint32_t handle, IpcMsgHandler func, void* arg);

// ---- replies ----
// Keeps `answer` until FreeBuffer of the returned buffer; `reply` (may be NULL) reads it.
uintptr_t keep_reply(Reply answer, IpcIo* reply);

}  // namespace liteipc::capi
