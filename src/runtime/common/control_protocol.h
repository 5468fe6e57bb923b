// The control protocol between libliteipc and liteipc-loader: fixed-size messages over a
// SOCK_SEQPACKET Unix socket, fds attached with SCM_RIGHTS. The loader identifies the sender by
// the kernel's word, never by anything in the message: the socket's SO_PEERPIDFD names the process
// that opened it, and each message's SCM_CREDENTIALS (SO_PASSCRED on the loader's side) the process
// that sent it. A request counts as that process's only when the two agree and it is still alive.
#pragma once

#include <cstdint>
#include <type_traits>

#include "liteipc_abi.h"

namespace liteipc::detail {

inline constexpr const char* kDefaultControlSocket = "/run/liteipc/liteipc.sock";
inline constexpr const char* kDefaultPinRoot = "/sys/fs/bpf/liteipc";
inline constexpr uint32_t kControlMagic = 0x4c495043;  // "LIPC"

enum class ControlOp : uint32_t {
    hello = 1,           // register this process; reply carries slot, generation and the inbox fd
    register_service,    // name + policy -> handle
    unregister_service,  // handle
    lookup,              // name -> handle
    add_access,          // handle + pid: grant a process access (AddServiceAccess)
    add_uid,             // handle + uid: add a uid to a LITEIPC_POLICY_UID_LIST service
    // The two halves of a kernel-approved connection. The client sends [ctrl, request pool], the
    // service [reply pool], each already mapped and sealed by its writer. The loader answers each
    // once both halves are in: the client gets [reply pool read-only, fd socket], the service
    // [ctrl, request pool read-only, fd socket] and for a mediated service also the connection's
    // message ring (the kernel's records of each message); the two fd sockets are a socketpair that carries
    // the fds messages pass. Whichever half comes first waits (up to its own timeout).
    open_channel,
    accept_channel,
    close_channel,       // conn_id: the connection ended
    list,                // text: one service per line
    status,              // text: JSON document
    watch_monitor,       // monitor batches (MonitorBatch) come on this socket while it stays open
    remove_access,       // handle + pid: withdraw a pid grant (the owner's, or one the asker made)
    remove_uid,          // handle + uid: take a uid off a LITEIPC_POLICY_UID_LIST service
    // handle (the topic's publisher) + uid or pid: who else the topic's publisher policy admits
    // (LITEIPC_POLICY_UID_LIST, LITEIPC_POLICY_PIDS). Kept with the topic, not with this publisher.
    add_publisher_uid,
    add_publisher_pid,
};

struct ControlRequest {
    uint32_t magic = kControlMagic;
    ControlOp op{};
    uint64_t request_id = 0;  // echoed in the reply: a late reply to an abandoned request is discarded
    uint32_t handle = 0;
    uint32_t policy = 0;  // enum liteipc_policy
    uint32_t uid_min = 0;
    uint32_t uid_max = 0;
    uint32_t id = 0;  // pid for add_access, uid for add_uid
    uint32_t mode = 0;  // register_service: enum liteipc_service_mode
    uint64_t conn_id = 0;
    char name[LITEIPC_NAME_MAX] = {};
    // register_service: the interface it serves (liteipc_service's fields of the same names).
    uint64_t contract_hash = 0;
    uint64_t interface_hash = 0;
    uint32_t interface_version = 0;
    char interface_name[LITEIPC_NAME_MAX] = {};
    // register_service of a topic: who may publish on it (liteipc_topic's fields).
    uint32_t publisher_policy = 0;
    uint32_t publisher_uid_min = 0;
    uint32_t publisher_uid_max = 0;
    // register_service of a mediated topic: its pool (liteipc_service's topic_* fields).
    uint32_t topic_samples = 0;
    uint64_t topic_slot_bytes = 0;
};
static_assert(std::is_trivially_copyable_v<ControlRequest>);

struct ControlReply {
    uint32_t magic = kControlMagic;
    int32_t result = 0;  // 0 or -errno
    uint64_t request_id = 0;
    uint32_t slot = 0;
    uint32_t handle = 0;
    uint64_t generation = 0;
    uint64_t peer_generation = 0;  // open/accept_channel: the other side's generation
    uint32_t peer_slot = 0;
    uint32_t peer_pid = 0;
    uint32_t peer_uid = 0;
    uint32_t peer_gid = 0;
    uint32_t peer_tid = 0;    // accept_channel: the client thread that connected
    uint32_t text_bytes = 0;  // bytes of text that follow the reply (list, status)
    uint32_t errc = 0;        // when result != 0: the liteipc::Errc, when errno alone cannot say it
    uint32_t mode = 0;        // open/accept_channel: the service's enum liteipc_service_mode
    char message[256] = {};   // the reason when result != 0
};
static_assert(std::is_trivially_copyable_v<ControlReply>);

// Largest message on the control socket: a reply header plus its text.
inline constexpr uint32_t kMaxControlMessage = 256 * 1024;

// After a watch_monitor reply, the loader sends the watcher its own copy of every monitor record,
// in batches: this header, then `count` liteipc_monitor_record. Each watcher has a bounded queue
// in the loader; a record that does not fit is counted in `dropped` (cumulative, this watcher's
// own). Records the kernel could not put into the ring are counted in the pinned counters.
inline constexpr uint32_t kMonitorBatchMagic = 0x4c49504d;  // "LIPM"
inline constexpr uint32_t kMonitorBatchRecords = 64;
struct MonitorBatch {
    uint32_t magic = kMonitorBatchMagic;
    uint32_t count = 0;
    uint64_t dropped = 0;
};
static_assert(std::is_trivially_copyable_v<MonitorBatch> && sizeof(MonitorBatch) == 16);

}  // namespace liteipc::detail
