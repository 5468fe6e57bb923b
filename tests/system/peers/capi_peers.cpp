// Roles of the older C API's tests that a test starts after it runs threads of its own (so they
// are spawned, not forked): services written against liteipc_adapter.h.
#include "capi_handlers.h"
#include "peer_role.h"

namespace liteipc::testing {

// Registers `name` for listed processes only (LITEIPC_POLICY_PIDS) on the loader the environment
// names, grants the thread id `tid` of another process (AddServiceAccess as samgr calls it with
// GetCallingTid), and checks that a number no thread has is refused (LITEIPC_EINVAL). Reports 1
// when all of that held, 0 otherwise; serves until killed.
LITEIPC_PEER_ROLE(capi_service_granting_thread) {
    const std::string name = args.text();
    const auto tid = static_cast<pid_t>(args.number());
    IpcContext* context = OpenLiteIpc(LITEIPC_DEFAULT_MAP_SIZE);
    LiteIpcServiceOptions options{name.c_str(), LITEIPC_POLICY_PIDS, 0, 0, 1, LITEIPC_SERVICE_DIRECT};
    SvcIdentity sid;
    const bool ready = context != nullptr &&
                       LiteIpcRegisterServiceEx(context, &options, answer_pid, nullptr, &sid) == LITEIPC_OK &&
                       AddServiceAccess(sid, tid) == LITEIPC_OK && AddServiceAccess(sid, 0x3fffffff) == LITEIPC_EINVAL;
    if (!report(ready ? 1 : 0)) return 101;
    for (;;) ::pause();
}

}  // namespace liteipc::testing
