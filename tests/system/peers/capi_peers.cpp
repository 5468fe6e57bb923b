// Roles of the older C API's tests that a test starts after it runs threads of its own (so they
// are spawned, not forked): services written against liteipc_adapter.h.
#include <unistd.h>

#include "liteipc_adapter.h"
#include "peer_role.h"

namespace liteipc::testing {
namespace {

// Answers every request with the service's pid.
int32_t answer_pid(const IpcContext* context, void* ipcMsg, IpcIo*, void*) {
    uint8_t out[32];
    IpcIo reply;
    IpcIoInit(&reply, out, sizeof out, 0);
    IpcIoPushInt32(&reply, static_cast<int32_t>(::getpid()));
    SendReply(context, ipcMsg, &reply);
    return 0;
}

}  // namespace

// Registers `name` for listed processes only (LITEIPC_POLICY_PIDS) on the loader the environment
// names, grants the thread id `tid` of another process (AddServiceAccess as samgr calls it with
// GetCallingTid), and checks that a number no thread has is refused (LITEIPC_EINVAL). Reports 1
// when all of that held, 0 otherwise; serves until killed.
LITEIPC_PEER_ROLE(capi_service_granting_thread) {
    const std::string name = args.text();
    const auto tid = static_cast<pid_t>(args.number());
    IpcContext* context = OpenLiteIpc(LITEIPC_DEFAULT_MAP_SIZE);
    LiteIpcServiceOptions options{name.c_str(), LITEIPC_POLICY_PIDS, 0, 0, 1};
    SvcIdentity sid;
    const bool ready = context != nullptr &&
                       LiteIpcRegisterServiceEx(context, &options, answer_pid, nullptr, &sid) == LITEIPC_OK &&
                       AddServiceAccess(sid, tid) == LITEIPC_OK && AddServiceAccess(sid, 0x3fffffff) == LITEIPC_EINVAL;
    if (!report(ready ? 1 : 0)) return 101;
    for (;;) ::pause();
}

}  // namespace liteipc::testing
