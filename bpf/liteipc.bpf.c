// SPDX-License-Identifier: GPL-2.0
/* liteipc's kernel plane: process table, death observation, service connect, death
 * subscriptions and the per-message path of mediated services. Layouts live in liteipc_abi.h. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "liteipc_abi.h"

#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EINVAL 22
#define EBUSY 16
#define ENOSPC 28
#define EAGAIN 11
#define EDQUOT 122
#define ENOTCONN 107
#define EOWNERDEAD 130

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader between open and load. */
const volatile __u32 abi_version = LITEIPC_ABI_VERSION;

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, LITEIPC_MAX_PROCS);
    __type(key, __u32);
    __type(value, struct liteipc_proc);
} procs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, LITEIPC_MAX_PROCS);
    __type(key, __u32); /* tgid */
    __type(value, __u32); /* slot */
} tgid_slot SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, LITEIPC_DEATHS_BYTES);
} deaths SEC(".maps");

struct inbox_ring {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, LITEIPC_INBOX_BYTES);
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, LITEIPC_MAX_PROCS);
    __type(key, __u32); /* slot */
    __array(values, struct inbox_ring);
} inboxes SEC(".maps");

/* A mediated connection's message ring: created by the loader when the connection is set up,
 * read by the service alone. */
struct message_ring {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, LITEIPC_MESSAGE_RING_BYTES);
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, LITEIPC_MAX_CONNS);
    __type(key, __u64); /* conn_id */
    __array(values, struct message_ring);
} msg_rings SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, LITEIPC_MAX_SERVICES);
    __type(key, __u32); /* handle */
    __type(value, struct liteipc_service);
} services SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, LITEIPC_MAX_SERVICES);
    __type(key, struct liteipc_name_key);
    __type(value, __u32); /* handle */
} svc_names SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, LITEIPC_MAX_GRANTS);
    __type(key, struct liteipc_grant_key);
    __type(value, __u32);
} grants SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, LITEIPC_MAX_CONNS);
    __type(key, __u64); /* conn_id */
    __type(value, struct liteipc_conn);
} conns SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, LITEIPC_MAX_SUBS);
    __type(key, struct liteipc_sub_key);
    __type(value, struct liteipc_sub);
} subs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, LITEIPC_MAX_PROCS);
    __type(key, __u32); /* target slot */
    __type(value, struct liteipc_sub_bits);
} sub_bits SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, LITEIPC_MAX_SERVICES);
    __type(key, __u32); /* handle */
    __type(value, struct liteipc_svc_stats);
} svc_stats SEC(".maps");

/* Names the full counter struct in this object's BTF (a map's __type alone emits only a forward
 * declaration): the loader types each service's counter map with it. */
const volatile struct liteipc_svc_traffic svc_traffic_layout;

/* One per service, created by the loader; its owner maps it and counts its data plane there. */
struct svc_traffic_counters {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct liteipc_svc_traffic);
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, LITEIPC_MAX_SERVICES);
    __type(key, __u32); /* handle */
    __array(values, struct svc_traffic_counters);
} svc_traffic SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, LITEIPC_COUNTER_MAX);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, LITEIPC_LIMIT_MAX);
    __type(key, __u32);
    __type(value, __u64);
} limits SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, LITEIPC_MAX_UIDS);
    __type(key, __u32); /* uid */
    __type(value, struct liteipc_uid_usage);
} uid_usage SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, LITEIPC_MONITOR_BYTES);
} monitor SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64); /* watchers, counted by the loader */
} mon_on SEC(".maps");

/* The layout version of everything pinned here, written by the loader that created the maps. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} abi SEC(".maps");

static __always_inline void count(__u32 which)
{
    __u64 *c = bpf_map_lookup_elem(&counters, &which);
    if (c)
        __sync_fetch_and_add(c, 1);
}

static __always_inline int watched(void)
{
    __u32 zero = 0;
    __u64 *watchers = bpf_map_lookup_elem(&mon_on, &zero);

    return watchers && *watchers;
}

/* Callers test watched() first, so that an unwatched event costs one branch. */
static __always_inline void to_monitor(struct liteipc_monitor_record *rec)
{
    rec->timestamp_ns = bpf_ktime_get_ns();
    if (bpf_ringbuf_output(&monitor, rec, sizeof(*rec), 0))
        count(LITEIPC_COUNTER_MONITOR_LOST);
}

static __always_inline long to_inbox(__u32 slot, void *record, __u64 size)
{
    void *inbox = bpf_map_lookup_elem(&inboxes, &slot);
    long err;

    if (!inbox)
        return -ENOENT;
    err = bpf_ringbuf_output(inbox, record, size, 0);
    if (err)
        count(LITEIPC_COUNTER_LOST_RECORDS);
    return err;
}

/* ---- per-uid quotas: take one before inserting, give it back after a successful delete ---- */

static __always_inline struct liteipc_uid_usage *usage_of(__u32 uid)
{
    struct liteipc_uid_usage fresh = {};
    struct liteipc_uid_usage *usage = bpf_map_lookup_elem(&uid_usage, &uid);

    if (usage)
        return usage;
    bpf_map_update_elem(&uid_usage, &uid, &fresh, BPF_NOEXIST);
    return bpf_map_lookup_elem(&uid_usage, &uid);
}

/* 0 when `uid` may hold one more; the count is taken at once so that concurrent callers of one
 * uid cannot all pass at limit - 1. `which` is LITEIPC_LIMIT_CONNS or LITEIPC_LIMIT_SUBS. */
static __always_inline int take_quota(__u32 uid, __u32 which)
{
    struct liteipc_uid_usage *usage;
    __u64 *limit, held, *counter;

    if (uid == 0)
        return 0; /* root is trusted */
    usage = usage_of(uid);
    if (!usage)
        return -ENOSPC;
    counter = which == LITEIPC_LIMIT_CONNS ? &usage->conns : &usage->subs;
    held = __sync_fetch_and_add(counter, 1);
    limit = bpf_map_lookup_elem(&limits, &which);
    if (limit && *limit && held >= *limit) {
        __sync_fetch_and_add(counter, -1);
        count(which == LITEIPC_LIMIT_CONNS ? LITEIPC_COUNTER_QUOTA_CONNS : LITEIPC_COUNTER_QUOTA_SUBS);
        return -EDQUOT;
    }
    return 0;
}

static __always_inline void give_quota(__u32 uid, __u32 which)
{
    struct liteipc_uid_usage *usage;

    if (uid == 0)
        return;
    usage = bpf_map_lookup_elem(&uid_usage, &uid);
    if (!usage)
        return;
    if (which == LITEIPC_LIMIT_CONNS)
        __sync_fetch_and_add(&usage->conns, -1);
    else
        __sync_fetch_and_add(&usage->subs, -1);
}

/* Deletes a subscription; only the one delete that succeeds returns it to its uid's quota. */
static __always_inline int drop_sub(struct liteipc_sub_key *key)
{
    struct liteipc_sub *sub = bpf_map_lookup_elem(&subs, key);
    __u32 uid;

    if (!sub)
        return -ENOENT;
    uid = sub->subscriber_uid;
    if (bpf_map_delete_elem(&subs, key))
        return -ENOENT;
    give_quota(uid, LITEIPC_LIMIT_SUBS);
    return 0;
}

/* ---- retiring a process: one death record to the loader and to each subscriber ---- */

struct retire_ctx {
    struct liteipc_death_record rec;
    struct liteipc_sub_bits *bits; /* the dead slot's subscribers */
};

/* Sends the death record to one subscriber, if its subscription is for this very process and
 * the subscriber is still the process that subscribed. */
static __always_inline void notify_subscriber(struct retire_ctx *rc, __u32 subscriber_slot)
{
    struct liteipc_sub_key key = {.target_slot = rc->rec.slot, .subscriber_slot = subscriber_slot};
    struct liteipc_sub *sub = bpf_map_lookup_elem(&subs, &key);
    struct liteipc_proc *subscriber;

    if (!sub)
        return;
    subscriber = bpf_map_lookup_elem(&procs, &subscriber_slot);
    if (sub->target_generation == rc->rec.generation && subscriber &&
        subscriber->generation == sub->subscriber_generation)
        to_inbox(subscriber_slot, &rc->rec, sizeof(rc->rec));
    drop_sub(&key);
}

static long notify_word(__u32 index, struct retire_ctx *rc)
{
    __u64 word;
    __u32 bit;

    if (index >= LITEIPC_SUB_WORDS || !rc->bits)
        return 1;
    /* Take the word whole: a subscribe racing with the death either set its bit before (and is
     * notified here) or finds the new generation (and is told the target is gone). */
    /* Keep clang from using an unchecked copy of index for the access below. */
    asm volatile("" : "+r"(index));
    index &= LITEIPC_SUB_WORDS - 1;
    word = __sync_lock_test_and_set(&rc->bits->words[index], 0);
    if (!word)
        return 0;
    for (bit = 0; bit < 64; bit++)
        if (word & (1ULL << bit))
            notify_subscriber(rc, index * 64 + bit);
    return 0;
}

static long drop_service(struct bpf_map *map, __u32 *handle, struct liteipc_service *svc,
                         struct retire_ctx *rc)
{
    __u32 h = *handle;

    if (svc->owner_slot == rc->rec.slot && svc->owner_generation == rc->rec.generation) {
        bpf_map_delete_elem(&svc_names, svc->name);
        bpf_map_delete_elem(&svc_stats, &h);
        bpf_map_delete_elem(&services, &h);
    }
    return 0;
}

/* Marks the slot dead, bumps its generation and tells everyone who must know, once. */
static __always_inline int retire(__u32 slot, struct liteipc_proc *proc, __s32 exit_code,
                                  __u32 closed, __u32 new_state)
{
    struct retire_ctx rc = {};
    __u64 now = bpf_ktime_get_ns();

    rc.rec.kind = LITEIPC_REC_DEATH;
    rc.rec.slot = slot;
    rc.rec.generation = proc->generation;
    rc.rec.tgid = proc->tgid;
    rc.rec.uid = proc->uid;
    rc.rec.exit_code = exit_code;
    rc.rec.closed = closed;
    rc.rec.timestamp_ns = now;

    proc->state = new_state;
    proc->exit_code = exit_code;
    proc->death_ns = now;
    __sync_fetch_and_add(&proc->generation, 1);
    bpf_map_delete_elem(&tgid_slot, &rc.rec.tgid);

    bpf_for_each_map_elem(&services, drop_service, &rc, 0);
    rc.bits = bpf_map_lookup_elem(&sub_bits, &slot);
    if (rc.bits)
        bpf_loop(LITEIPC_SUB_WORDS, notify_word, &rc, 0);
    if (bpf_ringbuf_output(&deaths, &rc.rec, sizeof(rc.rec), 0))
        count(LITEIPC_COUNTER_LOST_RECORDS);
    if (watched()) {
        struct liteipc_monitor_record mon = {.kind = LITEIPC_MON_DEATH, .pid = rc.rec.tgid,
                                             .uid = rc.rec.uid, .gid = proc->gid,
                                             .exit_code = exit_code, .closed = closed};
        to_monitor(&mon);
    }
    return 0;
}

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

/* Finds the caller's own slot from the kernel's view of who is calling. */
static __always_inline struct liteipc_proc *caller_proc(__u32 *slot_out)
{
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    __u32 *slotp = bpf_map_lookup_elem(&tgid_slot, &tgid);
    struct liteipc_proc *proc;
    __u32 slot;

    if (!slotp)
        return 0;
    slot = *slotp;
    proc = bpf_map_lookup_elem(&procs, &slot);
    if (!proc || proc->tgid != tgid || proc->state != LITEIPC_PROC_ALIVE)
        return 0;
    *slot_out = slot;
    return proc;
}

static __always_inline int allowed(__u32 handle, const struct liteipc_service *svc, __u32 uid,
                                   __u32 client_slot, __u64 client_generation)
{
    struct liteipc_grant_key key = {.handle = handle, .kind = LITEIPC_GRANT_PID, .id = client_slot,
                                    .generation = client_generation};

    if (bpf_map_lookup_elem(&grants, &key))
        return 1;
    switch (svc->policy) {
    case LITEIPC_POLICY_ANYONE:
        return 1;
    case LITEIPC_POLICY_SAME_UID:
        return uid == svc->owner_uid;
    case LITEIPC_POLICY_UID_RANGE:
        return uid >= svc->uid_min && uid <= svc->uid_max;
    case LITEIPC_POLICY_UID_LIST:
        key.kind = LITEIPC_GRANT_UID;
        key.id = uid;
        key.generation = 0;
        return bpf_map_lookup_elem(&grants, &key) != 0;
    default:
        return 0; /* LITEIPC_POLICY_PIDS: only grants, checked above */
    }
}

/* ---- connect: run by a client; only ctx->handle is trusted as input ---- */

SEC("syscall")
int connect(struct liteipc_connect_ctl *ctx)
{
    __u32 handle = ctx->handle, client_slot = 0, zero = LITEIPC_COUNTER_NEXT_CONN;
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
    if (!allowed(handle, svc, (__u32)uid_gid, client_slot, client->generation)) {
        if (stats)
            __sync_fetch_and_add(&stats->denials, 1);
        if (watched()) {
            struct liteipc_monitor_record mon = {.kind = LITEIPC_MON_DENIAL, .handle = handle,
                                                 .pid = pid_tgid >> 32, .tid = (__u32)pid_tgid,
                                                 .uid = (__u32)uid_gid, .gid = uid_gid >> 32,
                                                 .result = -EPERM};
            to_monitor(&mon);
        }
        ctx->result = -EPERM;
        return 0;
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
    void *ring;

    sender = caller_proc(&sender_slot);
    if (!sender) {
        ctx->result = -EPERM;
        return 0;
    }
    conn = bpf_map_lookup_elem(&conns, &conn_id);
    if (!conn || conn->client_slot != sender_slot || conn->client_generation != sender->generation) {
        ctx->result = -ENOTCONN;
        return 0;
    }
    handle = conn->handle;
    svc = bpf_map_lookup_elem(&services, &handle);
    if (!svc || svc->owner_generation != conn->service_generation) {
        ctx->result = -EOWNERDEAD;
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
