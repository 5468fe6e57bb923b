// Handlers of the older C API that the C API tests' processes and their spawned peers share.
#pragma once

#include <unistd.h>

#include "liteipc_adapter.h"

namespace liteipc::testing {

// Answers every request with the service's pid.
inline int32_t answer_pid(const IpcContext* context, void* ipcMsg, IpcIo*, void*) {
    uint8_t out[32];
    IpcIo reply;
    IpcIoInit(&reply, out, sizeof out, 0);
    IpcIoPushInt32(&reply, static_cast<int32_t>(::getpid()));
    SendReply(context, ipcMsg, &reply);
    return 0;
}

}  // namespace liteipc::testing
