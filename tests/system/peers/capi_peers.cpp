// Roles of the older C API's tests that a test starts after it runs threads of its own (so they
// are spawned, not forked): services written against liteipc_adapter.h.
#include <thread>

#include "capi_handlers.h"
#include "liteipc/broadcast.h"
#include "peer_role.h"
#include "test_processes.h"

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

// As `uid`, adds `topic` through the C Broadcast API (anyone may subscribe; who may publish: the
// policy given; mediated or not) on the loader the environment names, and reports LiteIpcBroadcastAddTopicWithOptions's
// result; once it is LITEIPC_OK, publishes its pid every millisecond until killed.
LITEIPC_PEER_ROLE(broadcast_publisher) {
    const auto uid = static_cast<uid_t>(args.number());
    const std::string topic = args.text();
    LiteIpcTopicOptions options{};
    options.size = sizeof options;
    options.maxLen = 64;
    options.policy = LITEIPC_POLICY_ANYONE;
    options.publisherPolicy = static_cast<uint32_t>(args.number());
    options.publisherUidMin = static_cast<uint32_t>(args.number());
    options.publisherUidMax = static_cast<uint32_t>(args.number());
    options.mediated = static_cast<uint32_t>(args.number());
    if (uid != 0 && !become_group_member(uid)) return report(int64_t{-1}) ? 100 : 101;
    if (OpenLiteIpc(LITEIPC_DEFAULT_MAP_SIZE) == nullptr) return report(int64_t{-2}) ? 100 : 101;
    const int32_t added = LiteIpcBroadcastAddTopicWithOptions(topic.c_str(), &options);
    if (!report(int64_t{added}) || added != LITEIPC_OK) return 0;
    const int32_t pid = ::getpid();
    for (;;) {
        (void)LiteIpcBroadcastPublish(topic.c_str(), reinterpret_cast<const uint8_t*>(&pid), sizeof pid);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

}  // namespace liteipc::testing
