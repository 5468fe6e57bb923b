// SPDX-License-Identifier: GPL-2.0
/* liteipc's kernel plane, its programs: death observation (the exit tracepoint), the process
 * table (proc_ctl), service connect, death subscriptions and the per-message path of mediated
 * services. The maps, quotas, retiring a process and the policy check are in the headers below;
 * layouts live in liteipc_abi.h. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "liteipc_abi.h"

#define EPERM 1
#define EACCES 13
#define ENOENT 2
#define ESRCH 3
#define EINVAL 22
#define EBUSY 16
#define ENOSPC 28
#define EAGAIN 11
#define EDQUOT 122
#define ENOTCONN 107
#define EOWNERDEAD 130
#define EPROTO 71
#define ERANGE 34
#define EALREADY 114

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader between open and load. */
const volatile __u32 abi_version = LITEIPC_ABI_VERSION;


#include "maps.bpf.h"
#include "quota.bpf.h"
#include "retire.bpf.h"
#include "policy.bpf.h"

SEC("tp/sched/sched_process_exit")
int on_process_exit(struct trace_event_raw_sched_process_exit *ctx)
{
    /* Read the argument before any helper call (clang 14 + verifier: a helper call
     * before it makes the verifier reject "dereference of modified ctx ptr"). */
    bool group_dead = ctx->group_dead;
    __u32 tgid, *slotp, slot;
    struct liteipc_proc *proc;
    struct task_struct *task;
    __s32 exit_code;

    if (!group_dead)
        return 0; /* not the last thread: the process lives on */
    tgid = bpf_get_current_pid_tgid() >> 32;
    slotp = bpf_map_lookup_elem(&tgid_slot, &tgid);
    if (!slotp)
        return 0; /* not a liteipc process */
    slot = *slotp;
    proc = bpf_map_lookup_elem(&procs, &slot);
    if (!proc || proc->tgid != tgid || proc->state != LITEIPC_PROC_ALIVE)
        return 0;

    task = bpf_get_current_task_btf();
    exit_code = BPF_CORE_READ(task, exit_code);
    return retire(slot, proc, exit_code, 0, LITEIPC_PROC_DEAD);
}

/* ---- proc_ctl: run by the loader (root only) ---- */

SEC("syscall")
int proc_ctl(struct liteipc_proc_ctl *ctx)
{
    __u32 slot = ctx->slot, op = ctx->op, tgid = ctx->tgid;
    struct liteipc_proc *proc = bpf_map_lookup_elem(&procs, &slot);

    if (!proc) {
        ctx->result = -EINVAL;
        return 0;
    }
    if (op == LITEIPC_PROC_REGISTER) {
        if (proc->state != LITEIPC_PROC_FREE) {
            ctx->result = -EBUSY;
            return 0;
        }
        proc->tgid = tgid;
        proc->uid = ctx->uid;
        proc->gid = ctx->gid;
        proc->exit_code = 0;
        proc->register_ns = bpf_ktime_get_ns();
        proc->death_ns = 0;
        proc->start_time = ctx->start_time;
        __sync_fetch_and_add(&proc->generation, 1);
        proc->state = LITEIPC_PROC_ALIVE;
        if (bpf_map_update_elem(&tgid_slot, &tgid, &slot, BPF_ANY)) {
            proc->state = LITEIPC_PROC_FREE;
            ctx->result = -ENOSPC;
            return 0;
        }
        ctx->generation = proc->generation;
        ctx->result = 0;
        return 0;
    }
    if (op == LITEIPC_PROC_DROP_CONN) {
        __u64 conn_id = ctx->conn_id;
        struct liteipc_conn *conn = bpf_map_lookup_elem(&conns, &conn_id);
        struct liteipc_svc_stats *stats;
        __u32 uid, handle, pid, gid;

        if (!conn) {
            ctx->result = -ENOENT;
            return 0;
        }
        uid = conn->client_uid;
        handle = conn->handle;
        pid = conn->client_pid;
        gid = conn->client_gid;
        if (bpf_map_delete_elem(&conns, &conn_id)) {
            ctx->result = -ENOENT;
            return 0;
        }
        give_quota(uid, LITEIPC_LIMIT_CONNS);
        stats = bpf_map_lookup_elem(&svc_stats, &handle);
        if (stats)
            __sync_fetch_and_add(&stats->disconnects, 1);
        if (watched()) {
            struct liteipc_monitor_record mon = {.kind = LITEIPC_MON_DISCONNECT, .handle = handle,
                                                 .conn_id = conn_id, .pid = pid, .uid = uid, .gid = gid};
            to_monitor(&mon);
        }
        ctx->result = 0;
        return 0;
    }
    if (op == LITEIPC_PROC_DROP_SUB) {
        struct liteipc_sub_key key = {.target_slot = ctx->target_slot, .subscriber_slot = slot};

        ctx->result = drop_sub(&key);
        return 0;
    }
    if (proc->generation != ctx->generation) {
        ctx->result = -ESRCH; /* stale request: the slot moved on */
        return 0;
    }
    if (op == LITEIPC_PROC_CLOSE && proc->state == LITEIPC_PROC_ALIVE) {
        retire(slot, proc, -1, 1, LITEIPC_PROC_FREE);
        ctx->generation = proc->generation;
        ctx->result = 0;
        return 0;
    }
    if (op == LITEIPC_PROC_RECLAIM && proc->state == LITEIPC_PROC_DEAD) {
        proc->state = LITEIPC_PROC_FREE;
        ctx->result = 0;
        return 0;
    }
    ctx->result = -EINVAL;
    return 0;
}

/* ---- connect: run by a client; only ctx->handle is trusted as input ---- */

/* A connect the service's policy or contract refuses: counted as the service's denial, shown to
 * monitors, and the caller's error. */
static __always_inline int refuse_connect(struct liteipc_connect_ctl *ctx, struct liteipc_svc_stats *stats,
                                          __u32 handle, __u64 pid_tgid, __u64 uid_gid, int error)
{
    if (stats)
        __sync_fetch_and_add(&stats->denials, 1);
    if (watched()) {
        struct liteipc_monitor_record mon = {.kind = LITEIPC_MON_DENIAL, .handle = handle,
                                             .pid = pid_tgid >> 32, .tid = (__u32)pid_tgid,
                                             .uid = (__u32)uid_gid, .gid = uid_gid >> 32,
                                             .result = error};
        to_monitor(&mon);
    }
    ctx->result = error;
    return 0;
}

SEC("syscall")
int connect(struct liteipc_connect_ctl *ctx)
{
    __u32 handle = ctx->handle, client_slot = 0, zero = LITEIPC_COUNTER_NEXT_CONN;
    __u32 mismatch_counter = LITEIPC_COUNTER_INTERFACE_MISMATCH;
    __u64 wanted_contract = ctx->contract_hash, *mismatches;
    __u64 pid_tgid = bpf_get_current_pid_tgid(), uid_gid = bpf_get_current_uid_gid();
    struct liteipc_connect_record rec = {};
    struct liteipc_svc_stats fresh = {}, *stats;
    struct liteipc_service *svc;
    struct liteipc_proc *client, *owner;
    struct liteipc_conn conn = {};
    __u64 *next_id;
    __u32 owner_slot;

    client = caller_proc(&client_slot);
    if (!client) {
        ctx->result = -EPERM;
        return 0;
    }
    svc = bpf_map_lookup_elem(&services, &handle);
    if (!svc) {
        ctx->result = -ENOENT;
        return 0;
    }
    owner_slot = svc->owner_slot;
    owner = bpf_map_lookup_elem(&procs, &owner_slot);
    if (!owner || owner->generation != svc->owner_generation ||
        owner->state != LITEIPC_PROC_ALIVE) {
        ctx->result = -EOWNERDEAD;
        return 0;
    }
    bpf_map_update_elem(&svc_stats, &handle, &fresh, BPF_NOEXIST);
    stats = bpf_map_lookup_elem(&svc_stats, &handle);
    if (!allowed(handle, svc, (__u32)uid_gid, client_slot, client->generation))
        return refuse_connect(ctx, stats, handle, pid_tgid, uid_gid, -EPERM);
    /* A name a topic's publisher policy governs reaches only an owner the policy admits, whatever
     * the loader let register it (defence in depth for the subscriber). */
    if (!publisher_admitted(svc, owner, owner_slot)) {
        __u32 refused_counter = LITEIPC_COUNTER_PUBLISHER_REFUSED;
        __u64 *refused = bpf_map_lookup_elem(&counters, &refused_counter);

        if (refused)
            __sync_fetch_and_add(refused, 1);
        return refuse_connect(ctx, stats, handle, pid_tgid, uid_gid, -EACCES);
    }
    /* The contract, checked once the policy let the caller in (who may not connect learns
     * nothing of the interface): a client that names its contract reaches only a service that
     * declared none or the same, before any message flows. */
    if (wanted_contract && svc->contract_hash && svc->contract_hash != wanted_contract) {
        mismatches = bpf_map_lookup_elem(&counters, &mismatch_counter);
        if (mismatches)
            __sync_fetch_and_add(mismatches, 1);
        return refuse_connect(ctx, stats, handle, pid_tgid, uid_gid, -EPROTO);
    }
    next_id = bpf_map_lookup_elem(&counters, &zero);
    if (!next_id) {
        ctx->result = -EINVAL;
        return 0;
    }

    conn.client_generation = client->generation;
    conn.service_generation = svc->owner_generation;
    conn.handle = handle;
    conn.client_slot = client_slot;
    conn.client_pid = pid_tgid >> 32;
    conn.client_uid = (__u32)uid_gid;
    conn.client_gid = uid_gid >> 32;
    conn.service_slot = owner_slot;
    conn.created_ns = bpf_ktime_get_ns();
    ctx->result = take_quota(conn.client_uid, LITEIPC_LIMIT_CONNS);
    if (ctx->result)
        return 0;
    rec.conn_id = __sync_fetch_and_add(next_id, 1) + 1;
    if (bpf_map_update_elem(&conns, &rec.conn_id, &conn, BPF_NOEXIST)) {
        give_quota(conn.client_uid, LITEIPC_LIMIT_CONNS);
        ctx->result = -ENOSPC;
        return 0;
    }

    rec.kind = LITEIPC_REC_CONNECT;
    rec.handle = handle;
    rec.client_generation = conn.client_generation;
    rec.client_slot = client_slot;
    rec.client_pid = conn.client_pid;
    rec.client_tid = (__u32)pid_tgid;
    rec.client_uid = conn.client_uid;
    rec.client_gid = conn.client_gid;
    rec.timestamp_ns = conn.created_ns;
    if (to_inbox(owner_slot, &rec, sizeof(rec))) {
        if (!bpf_map_delete_elem(&conns, &rec.conn_id))
            give_quota(conn.client_uid, LITEIPC_LIMIT_CONNS);
        ctx->result = -ENOSPC;
        return 0;
    }
    if (stats)
        __sync_fetch_and_add(&stats->connects, 1);
    if (watched()) {
        struct liteipc_monitor_record mon = {.kind = LITEIPC_MON_CONNECT, .handle = handle,
                                             .conn_id = rec.conn_id, .pid = rec.client_pid,
                                             .tid = rec.client_tid, .uid = rec.client_uid,
                                             .gid = rec.client_gid};
        to_monitor(&mon);
    }
    ctx->conn_id = rec.conn_id;
    ctx->service_slot = owner_slot;
    ctx->service_generation = conn.service_generation;
    ctx->result = 0;
    return 0;
}

/* ---- subscribe: a registered process asks to be told of a peer's death ---- */

SEC("syscall")
int subscribe(struct liteipc_subscribe_ctl *ctx)
{
    __u32 op = ctx->op, subscriber_slot = 0, target_slot = ctx->target_slot;
    __u64 target_generation = ctx->target_generation;
    struct liteipc_proc *self, *target;
    struct liteipc_sub_key key = {};
    struct liteipc_sub sub = {}, *existing;
    struct liteipc_sub_bits *bits;
    __u64 *word, mask;

    self = caller_proc(&subscriber_slot);
    if (!self) {
        ctx->result = -EPERM;
        return 0;
    }
    key.target_slot = target_slot;
    key.subscriber_slot = subscriber_slot;
    bits = bpf_map_lookup_elem(&sub_bits, &target_slot);
    if (!bits || subscriber_slot >= LITEIPC_MAX_PROCS) {
        ctx->result = -EINVAL;
        return 0;
    }
    word = &bits->words[(subscriber_slot / 64) % LITEIPC_SUB_WORDS];
    mask = 1ULL << (subscriber_slot % 64);
    if (op == LITEIPC_SUB_REMOVE) {
        ctx->result = drop_sub(&key);
        __sync_fetch_and_and(word, ~mask);
        return 0;
    }
    if (op != LITEIPC_SUB_ADD) {
        ctx->result = -EINVAL;
        return 0;
    }
    target = bpf_map_lookup_elem(&procs, &target_slot);
    if (!target) {
        ctx->result = -EINVAL;
        return 0;
    }
    sub.target_generation = target_generation;
    sub.subscriber_generation = self->generation;
    sub.subscriber_uid = self->uid;
    existing = bpf_map_lookup_elem(&subs, &key);
    if (existing) {
        /* Renewed in place: it already counts against the uid that made it. */
        existing->target_generation = target_generation;
        existing->subscriber_generation = sub.subscriber_generation;
    } else {
        ctx->result = take_quota(sub.subscriber_uid, LITEIPC_LIMIT_SUBS);
        if (ctx->result)
            return 0;
        if (bpf_map_update_elem(&subs, &key, &sub, BPF_NOEXIST)) {
            give_quota(sub.subscriber_uid, LITEIPC_LIMIT_SUBS);
            ctx->result = -ENOSPC;
            return 0;
        }
    }
    __sync_fetch_and_or(word, mask);
    /* Checked after inserting: a death between the two is then either seen here or
     * delivered by the exit program, never missed. */
    if (target->generation != target_generation || target->state != LITEIPC_PROC_ALIVE) {
        drop_sub(&key);
        ctx->result = -ESRCH;
        return 0;
    }
    ctx->result = 0;
    return 0;
}

/* A mediated topic's publish, stamped for the subscriber on connection `conn_id` by its publisher:
 * the sample must lie inside the pool the topic registered and its sequence must rise, or the
 * publish is refused and counted; the subscriber takes no sample its ring has no stamp for. */
static __always_inline int stamp_sample(struct liteipc_send_ctl *ctx, struct liteipc_conn *conn,
                                        struct liteipc_service *svc, __u64 conn_id, __u64 pid_tgid,
                                        __u64 uid_gid)
{
    __u32 sample = ctx->slot;
    __u64 length = ctx->payload_length, sequence = ctx->call_sequence;
    struct liteipc_message_record rec = {};
    int error = 0;
    void *ring;

    if (sample >= svc->topic_samples || length > svc->topic_slot_bytes)
        error = -ERANGE;
    else if (sequence <= conn->stamped_sequence)
        error = -EALREADY;
    if (error) {
        count(LITEIPC_COUNTER_STAMP_REFUSED);
        ctx->result = error;
        return 0;
    }
    ring = bpf_map_lookup_elem(&msg_rings, &conn_id);
    if (!ring) {
        ctx->result = -ENOTCONN;
        return 0;
    }
    rec.kind = LITEIPC_REC_SAMPLE;
    rec.handle = conn->handle;
    rec.conn_id = conn_id;
    rec.pid = pid_tgid >> 32;
    rec.tid = (__u32)pid_tgid;
    rec.uid = (__u32)uid_gid;
    rec.gid = uid_gid >> 32;
    rec.slot = sample;
    rec.payload_offset = (__u64)sample * svc->topic_slot_bytes;
    rec.payload_length = length;
    rec.call_sequence = sequence;
    rec.timestamp_ns = bpf_ktime_get_ns();
    if (bpf_ringbuf_output(ring, &rec, sizeof(rec), BPF_RB_NO_WAKEUP)) {
        ctx->result = -EAGAIN; /* the subscriber is that far behind: it misses this sample */
        return 0;
    }
    conn->stamped_sequence = sequence;
    ctx->result = 0;
    return 0;
}

/* ---- send: a client of a mediated service, once per message ----
 * The sender and its rights are found here, per message: a sender whose access was withdrawn
 * since it connected (a uid taken off the list, a pid grant gone with its grantor) is refused at
 * its next message. The record goes without a ringbuf wakeup (no irq_work per message): the
 * sender rings the connection's doorbell itself, and only when the service sleeps. */

SEC("syscall")
int send(struct liteipc_send_ctl *ctx)
{
    __u64 conn_id = ctx->conn_id, pid_tgid = bpf_get_current_pid_tgid(),
          uid_gid = bpf_get_current_uid_gid();
    struct liteipc_message_record rec = {};
    struct liteipc_service *svc;
    struct liteipc_proc *sender, *owner;
    struct liteipc_conn *conn;
    struct liteipc_svc_stats *stats;
    __u32 sender_slot = 0, handle, owner_slot;
    bool is_client, is_owner;
    void *ring;

    sender = caller_proc(&sender_slot);
    if (!sender) {
        ctx->result = -EPERM;
        return 0;
    }
    conn = bpf_map_lookup_elem(&conns, &conn_id);
    if (!conn) {
        ctx->result = -ENOTCONN;
        return 0;
    }
    is_client = conn->client_slot == sender_slot && conn->client_generation == sender->generation;
    is_owner = conn->service_slot == sender_slot && conn->service_generation == sender->generation;
    if (!is_client && !is_owner) {
        ctx->result = -ENOTCONN;
        return 0;
    }
    handle = conn->handle;
    svc = bpf_map_lookup_elem(&services, &handle);
    if (!svc || svc->owner_generation != conn->service_generation) {
        ctx->result = -EOWNERDEAD;
        return 0;
    }
    /* A mediated topic's publisher stamps a sample for one subscriber (the other way round). */
    if (svc->mode == LITEIPC_SVC_MODE_MEDIATED_TOPIC) {
        if (!is_owner) {
            ctx->result = -ENOTCONN;
            return 0;
        }
        return stamp_sample(ctx, conn, svc, conn_id, pid_tgid, uid_gid);
    }
    if (!is_client) {
        ctx->result = -ENOTCONN;
        return 0;
    }
    owner_slot = svc->owner_slot;
    owner = bpf_map_lookup_elem(&procs, &owner_slot);
    if (!owner || owner->generation != svc->owner_generation || owner->state != LITEIPC_PROC_ALIVE) {
        ctx->result = -EOWNERDEAD;
        return 0;
    }
    if (svc->mode != LITEIPC_SVC_MODE_MEDIATED) {
        ctx->result = -EINVAL;
        return 0;
    }
    if (!allowed(handle, svc, (__u32)uid_gid, sender_slot, sender->generation)) {
        stats = bpf_map_lookup_elem(&svc_stats, &handle);
        if (stats)
            __sync_fetch_and_add(&stats->denials, 1);
        if (watched()) {
            struct liteipc_monitor_record mon = {.kind = LITEIPC_MON_DENIAL, .handle = handle,
                                                 .conn_id = conn_id, .pid = pid_tgid >> 32,
                                                 .tid = (__u32)pid_tgid, .uid = (__u32)uid_gid,
                                                 .gid = uid_gid >> 32, .result = -EPERM,
                                                 .code = ctx->code};
            to_monitor(&mon);
        }
        ctx->result = -EPERM;
        return 0;
    }
    ring = bpf_map_lookup_elem(&msg_rings, &conn_id);
    if (!ring) {
        ctx->result = -ENOTCONN;
        return 0;
    }

    rec.kind = LITEIPC_REC_MESSAGE;
    rec.handle = handle;
    rec.conn_id = conn_id;
    rec.pid = pid_tgid >> 32;
    rec.tid = (__u32)pid_tgid;
    rec.uid = (__u32)uid_gid;
    rec.gid = uid_gid >> 32;
    rec.code = ctx->code;
    rec.flags = ctx->flags;
    rec.slot = ctx->slot;
    rec.payload_kind = ctx->payload_kind;
    rec.payload_offset = ctx->payload_offset;
    rec.payload_length = ctx->payload_length;
    rec.call_sequence = ctx->call_sequence;
    rec.timestamp_ns = bpf_ktime_get_ns();
    if (bpf_ringbuf_output(ring, &rec, sizeof(rec), BPF_RB_NO_WAKEUP)) {
        ctx->result = -EAGAIN; /* the service is behind: the sender retries until its deadline */
        return 0;
    }
    if (watched()) {
        struct liteipc_monitor_record mon = {.kind = LITEIPC_MON_MESSAGE, .handle = handle,
                                             .conn_id = conn_id, .pid = rec.pid, .tid = rec.tid,
                                             .uid = rec.uid, .gid = rec.gid, .code = rec.code,
                                             .flags = rec.flags, .payload_kind = rec.payload_kind,
                                             .payload_offset = rec.payload_offset,
                                             .payload_length = rec.payload_length};
        to_monitor(&mon);
    }
    ctx->result = 0;
    return 0;
}
