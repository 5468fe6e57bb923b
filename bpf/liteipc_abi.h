/* liteipc's kernel/user ABI: the one header shared by the BPF programs and the C++ runtime.
 *
 * Every struct here crosses the boundary: fixed-width fields, explicit padding, sizes asserted
 * on both sides. BPF code must write every byte of a record it reserves in a ring buffer
 * (bpf_ringbuf_reserve does not zero memory), so records are built on the stack, zeroed, and
 * copied with bpf_ringbuf_output.
 */
#ifndef LITEIPC_ABI_H
#define LITEIPC_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Bumped whenever a pinned layout changes. The loader pins it in map "abi"; a loader adopting
 * pinned state with another version refuses and says how to unload. */
#define LITEIPC_ABI_VERSION 9 /* 9: mediated topics (mode, pool geometry, stamped sequence) */

/* Table sizes. Map names are cut to 15 characters by the kernel: keep them short. */
#define LITEIPC_MAX_PROCS 4096
#define LITEIPC_MAX_SERVICES 4096
#define LITEIPC_MAX_CONNS 65536
#define LITEIPC_MAX_GRANTS 65536
#define LITEIPC_MAX_SUBS 65536
#define LITEIPC_MAX_UIDS 65536 /* distinct uids with kernel-plane usage */
#define LITEIPC_NAME_MAX 256 /* service names: 1..255 bytes plus the terminator */
#define LITEIPC_INBOX_BYTES (256 * 1024)
#define LITEIPC_DEATHS_BYTES (1024 * 1024)
#define LITEIPC_MONITOR_BYTES (1024 * 1024)
/* A mediated connection's message ring: room for every call slot of a default connection with
 * margin; a sender that finds it full retries until its deadline. */
#define LITEIPC_MESSAGE_RING_BYTES (64 * 1024)
/* A subscription to a mediated topic queues at most this many samples, so that its stamps (one
 * liteipc_message_record each, in the same ring) always fit beside its queue. */
#define LITEIPC_MEDIATED_TOPIC_DEPTH 512

/* ---- process table (map "procs": mmapable array, frozen: only BPF writes it) ---- */

enum liteipc_proc_state {
    LITEIPC_PROC_FREE = 0,
    LITEIPC_PROC_ALIVE = 1,
    LITEIPC_PROC_DEAD = 2, /* died; the loader has not reclaimed the slot yet */
};

/* A peer is alive iff procs[slot].generation still equals the generation it was registered
 * with: registering and retiring a slot both bump it, so one 64-bit load answers. */
struct liteipc_proc {
    __u64 generation;
    __u32 tgid;
    __u32 uid;
    __u32 gid;
    __u32 state;      /* enum liteipc_proc_state */
    __s32 exit_code;  /* wait(2) status of the death, or -1 after an orderly close */
    __u32 pad;
    __u64 register_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
    __u64 death_ns;
    __u64 start_time; /* field 22 of /proc/PID/stat: tells this process from a later one of the same pid */
};

/* ---- records: every record in a ring buffer starts with a __u32 kind ---- */

enum liteipc_record_kind {
    LITEIPC_REC_DEATH = 1,
    LITEIPC_REC_CONNECT = 2,
    LITEIPC_REC_MESSAGE = 3,
    LITEIPC_REC_SAMPLE = 4, /* a mediated topic's publish, stamped for one subscriber */
};

/* One per process death (or orderly close), to the loader's "deaths" ring and to the inbox of
 * every process subscribed to it. */
struct liteipc_death_record {
    __u32 kind; /* LITEIPC_REC_DEATH */
    __u32 slot;
    __u64 generation; /* the generation the process had while it was alive */
    __u32 tgid;
    __u32 uid;
    __s32 exit_code; /* wait(2) status; -1 for an orderly close */
    __u32 closed;    /* 1 when the process closed its context instead of dying */
    __u64 timestamp_ns;
};

/* Delivered into a service owner's inbox when a client connects; the identity is stamped by
 * the kernel in the connect program, never taken from the client. */
struct liteipc_connect_record {
    __u32 kind; /* LITEIPC_REC_CONNECT */
    __u32 handle;
    __u64 conn_id;
    __u64 client_generation;
    __u32 client_slot;
    __u32 client_pid; /* tgid */
    __u32 client_tid;
    __u32 client_uid;
    __u32 client_gid;
    __u32 pad;
    __u64 timestamp_ns;
};

/* One per message to a mediated service, written by the "send" program into the connection's
 * message ring (map "msg_rings", by conn_id), which only the service reads. Everything but `slot`,
 * the payload fields and `call_sequence` is the kernel's own word; those are the sender's claim
 * about its own request, checked by the service as for a direct call.
 * The same record, kind LITEIPC_REC_SAMPLE, is a mediated topic's publish as stamped for one
 * subscriber, in its subscription's ring, which only the subscriber reads: pid..gid are the
 * publisher's; `slot` is the sample's index, checked below the pool's sample count; payload_offset
 * is the kernel's (slot * slot bytes) and payload_length was checked against the slot's bytes;
 * call_sequence is the topic's sequence, which the kernel keeps rising per subscription. */
struct liteipc_message_record {
    __u32 kind; /* LITEIPC_REC_MESSAGE */
    __u32 handle;
    __u64 conn_id;
    __u32 pid; /* the sender's tgid, from bpf_get_current_pid_tgid at send time */
    __u32 tid;
    __u32 uid; /* from bpf_get_current_uid_gid at send time */
    __u32 gid;
    __u32 code;
    __u32 flags;
    __u32 slot;         /* the call slot in the connection's ctrl region the request sits in */
    __u32 payload_kind; /* none, inline (in the slot), pool (in the sender's request pool) */
    __u64 payload_offset;
    __u64 payload_length;
    __u64 call_sequence;
    __u64 timestamp_ns; /* CLOCK_MONOTONIC */
};

/* ---- the monitor (map "monitor": ring buffer; "mon_on": array of one __u64) ----
 * Records go to "monitor" only while mon_on[0] (the number of watchers the loader counts) is
 * non-zero: with no watcher, each event costs one load and one branch. */
enum liteipc_monitor_kind {
    LITEIPC_MON_CONNECT = 1,    /* a client connected to `handle` */
    LITEIPC_MON_DENIAL = 2,     /* a client was refused by `handle`'s policy (result: -errno) */
    LITEIPC_MON_DISCONNECT = 3, /* connection `conn_id` to `handle` ended */
    LITEIPC_MON_DEATH = 4,      /* process `pid` died (exit_code) or closed its context (closed = 1) */
    LITEIPC_MON_MESSAGE = 5,    /* a message to mediated service `handle` (code, flags, payload) */
};

struct liteipc_monitor_record {
    __u32 kind; /* enum liteipc_monitor_kind */
    __u32 handle;
    __u64 conn_id;
    __u32 pid; /* the client for connect/denial/disconnect; the process for death */
    __u32 tid;
    __u32 uid;
    __u32 gid;
    __s32 result;    /* denial: -errno */
    __s32 exit_code; /* death: wait(2) status, -1 after an orderly close */
    __u32 closed;    /* death: 1 for an orderly close */
    __u32 code;      /* message: its code */
    __u64 timestamp_ns; /* CLOCK_MONOTONIC */
    __u32 flags;        /* message: its flags */
    __u32 payload_kind; /* message: none, inline, pool */
    __u64 payload_offset;
    __u64 payload_length;
};

/* ---- service registry (maps "services", "svc_names", "grants"; only root writes) ---- */

enum liteipc_policy {
    LITEIPC_POLICY_SAME_UID = 0, /* default: callers with the owner's uid */
    LITEIPC_POLICY_ANYONE = 1,
    LITEIPC_POLICY_UID_LIST = 2,  /* uids in "grants" */
    LITEIPC_POLICY_UID_RANGE = 3, /* uid_min..uid_max inclusive */
    LITEIPC_POLICY_PIDS = 4,      /* only pids granted with AddServiceAccess */
};

enum liteipc_service_mode {
    LITEIPC_SVC_MODE_DIRECT = 0,   /* messages go peer to peer; only connects pass the kernel */
    LITEIPC_SVC_MODE_MEDIATED = 1, /* every message passes the "send" program */
    LITEIPC_SVC_MODE_TOPIC = 2,    /* a topic: its connects are subscribes; samples go peer to peer */
    LITEIPC_SVC_MODE_MEDIATED_TOPIC = 3, /* a topic whose every publish passes the "send" program */
};

struct liteipc_service {
    char name[LITEIPC_NAME_MAX];
    __u64 owner_generation;
    __u32 owner_slot;
    __u32 owner_tgid;
    __u32 owner_uid;
    __u32 policy; /* enum liteipc_policy */
    __u32 uid_min;
    __u32 uid_max;
    __u64 register_ns;
    __u32 mode; /* enum liteipc_service_mode */
    __u32 pad;
    /* The interface it serves, as liteipc-idl generated its stub: the contract (the hash of the
     * first version of its frozen line, which every version that only appends methods shares;
     * an unfrozen interface's own hash), this version's hash and frozen number (0: not frozen),
     * and its name. The connect program refuses a client that asks for another contract. 0 and
     * "": none declared (a hand-written service): any client may connect. */
    __u64 contract_hash;
    __u64 interface_hash;
    __u32 interface_version;
    __u32 pad2;
    char interface_name[LITEIPC_NAME_MAX];
    /* A mediated topic's pool as its publisher registered it: the send program stamps only
     * samples inside it. 0 for every other service. */
    __u64 topic_slot_bytes;
    __u32 topic_samples;
    __u32 pad3;
};

struct liteipc_name_key {
    char name[LITEIPC_NAME_MAX];
};

enum liteipc_grant_kind {
    LITEIPC_GRANT_UID = 1, /* a uid on the service's uid list */
    LITEIPC_GRANT_PID = 2, /* a process granted access (AddServiceAccess, service references) */
    LITEIPC_GRANT_PUB_UID = 3, /* a uid on a topic's publisher list; `handle` is the topic's id */
    LITEIPC_GRANT_PUB_PID = 4, /* a process a topic's publisher policy admits; `handle`: topic id */
};

/* Pid grants hold for every policy; uid grants for LITEIPC_POLICY_UID_LIST. A pid grant names a
 * registration (slot and generation), never a pid number: a later process of the same pid, or a
 * later registration of the same slot, does not inherit it. */
struct liteipc_grant_key {
    __u32 handle;
    __u32 kind; /* enum liteipc_grant_kind */
    __u32 id;   /* uid, or the grantee's slot */
    __u32 pad;
    __u64 generation; /* the grantee's generation; 0 for a uid grant */
};

/* Value of "grants": the process that made the grant, so that the grant ends with it, also when
 * that process died while no loader ran (a loader that starts drops it). */
struct liteipc_grant {
    __u64 grantor_generation;
    __u32 grantor_slot; /* LITEIPC_UNKNOWN_GRANTOR: none known (kept until grantee or service goes) */
    __u32 grantor_uid;
};
#define LITEIPC_UNKNOWN_GRANTOR 0xffffffffu

/* ---- topics (map "topics": by name; only root writes) ----
 * Who may publish on a topic. A topic is single-publisher: its publisher is the owner of the
 * service of that name, so the publisher policy says who may register the name. The record is
 * made by the topic's first registration and outlives its publisher while a process that was
 * subscribed when it went is still registered: a process the policy does not admit cannot take
 * the name after the publisher's death and feed its subscribers. The loader refuses such a
 * registration, and the connect program refuses a subscribe to a service whose owner the record
 * does not admit (counted in LITEIPC_COUNTER_PUBLISHER_REFUSED). Publisher grants
 * (LITEIPC_GRANT_PUB_*) are keyed by `topic_id`, which outlives the publisher's handle. */
struct liteipc_topic {
    __u32 topic_id;         /* drawn from LITEIPC_COUNTER_NEXT_HANDLE: never a service's handle */
    __u32 publisher_handle; /* the service publishing it now; 0: vacant */
    __u32 creator_uid;      /* admitted whatever the policy; whom LITEIPC_POLICY_SAME_UID means */
    __u32 policy;           /* enum liteipc_policy: who may publish */
    __u32 uid_min;          /* LITEIPC_POLICY_UID_RANGE */
    __u32 uid_max;
    __u64 created_ns;
};

/* ---- connections (map "conns": written by the connect program, read by the loader) ---- */

struct liteipc_conn {
    __u64 client_generation;
    __u64 service_generation;
    __u32 handle;
    __u32 client_slot;
    __u32 client_pid;
    __u32 client_uid;
    __u32 client_gid;
    __u32 service_slot;
    __u64 created_ns;
    __u64 stamped_sequence; /* a mediated topic's last sequence stamped on this subscription */
};

/* ---- death subscriptions (map "subs": written by the subscribe program) ---- */

struct liteipc_sub_key {
    __u32 target_slot;
    __u32 subscriber_slot;
};

struct liteipc_sub {
    __u64 target_generation;
    __u64 subscriber_generation;
    __u32 subscriber_uid; /* whose quota the entry counts against */
    __u32 pad;
};

/* Who is subscribed to a target slot, one bit per subscriber slot (map "sub_bits": array by
 * target slot). The exit program fans out through the set bits instead of walking "subs", so a
 * death costs O(subscribers), not O(table size). A bit only says "look in subs": the entry there,
 * with both generations, is the truth. */
#define LITEIPC_SUB_WORDS (LITEIPC_MAX_PROCS / 64)
struct liteipc_sub_bits {
    __u64 words[LITEIPC_SUB_WORDS];
};

/* ---- per-service counters ----
 * Two maps, because two parties count. "svc_stats" (hash by handle) is written only by BPF: what
 * the kernel sees (connects, denials, disconnects). "svc_traffic" (hash of maps by handle) holds one
 * mmapable single-entry array per service, created by the loader and mapped read-write by the
 * service's owner, which counts its data plane there with relaxed atomic adds (no syscall per
 * message). The owner can write its own traffic counters, so they are the owner's word; the
 * kernel's counters are not. Both carry BTF: `bpftool map dump` prints named fields. */
struct liteipc_svc_stats {
    __u64 connects;    /* connects the connect program approved */
    __u64 denials;     /* connects the service's policy refused */
    __u64 disconnects; /* connections that ended (closed, or a side died) */
};

struct liteipc_svc_traffic {
    __u64 calls;       /* requests that expect a reply */
    __u64 oneway;      /* one-way messages */
    __u64 bytes;       /* request payload bytes received plus reply bytes sent */
    __u64 errors;      /* messages that ended with a non-zero status (a reply that could not go too) */
    __u64 timeouts;    /* of those, replies that could not go before the caller's deadline */
    __u64 dead_object; /* of those, replies that could not go because the caller had died */
};

/* ---- global counters (map "counters": array of __u64) ---- */

enum liteipc_counter {
    LITEIPC_COUNTER_NEXT_CONN = 0,    /* last connection id handed out (connect program) */
    LITEIPC_COUNTER_LOST_RECORDS = 1, /* records dropped because a ring buffer was full */
    LITEIPC_COUNTER_NEXT_HANDLE = 2,  /* last service handle handed out (loader); never reused */
    LITEIPC_COUNTER_QUOTA_CONNS = 3,  /* connects refused: the caller's uid held its quota of conns */
    LITEIPC_COUNTER_QUOTA_SUBS = 4,   /* subscribes refused: the caller's uid held its quota of subs */
    LITEIPC_COUNTER_MONITOR_LOST = 5, /* monitor records dropped because the monitor ring was full */
    LITEIPC_COUNTER_MEMBER_CONNS = 6, /* entries in "conns" created by uids other than root */
    LITEIPC_COUNTER_RESERVE_CONNS = 7, /* connects refused: the rest of the table is root's reserve */
    LITEIPC_COUNTER_MEMBER_SUBS = 8,   /* entries in "subs" held by uids other than root */
    LITEIPC_COUNTER_RESERVE_SUBS = 9,  /* subscribes refused: the rest of the table is root's reserve */
    LITEIPC_COUNTER_INTERFACE_MISMATCH = 10, /* connects refused: the service serves another interface */
    LITEIPC_COUNTER_PUBLISHER_REFUSED = 11, /* subscribes refused: the topic's publisher policy does not admit its owner */
    LITEIPC_COUNTER_STAMP_REFUSED = 12, /* publishes of a mediated topic the send program refused to stamp */
    LITEIPC_COUNTER_MAX = 13,
};

/* ---- per-uid quotas the kernel plane enforces (maps "limits" and "uid_usage") ---- */

/* "limits": array of __u64 set by the loader from its config; 0 means no limit. uid 0 is exempt. */
enum liteipc_limit {
    LITEIPC_LIMIT_CONNS = 0, /* entries in "conns" (pending and open) created by one uid */
    LITEIPC_LIMIT_SUBS = 1,  /* entries in "subs" held by one uid */
    LITEIPC_LIMIT_MEMBER_CONNS = 2, /* entries in "conns" all uids but root may hold together */
    LITEIPC_LIMIT_MEMBER_SUBS = 3,  /* entries in "subs" all uids but root may hold together */
    LITEIPC_LIMIT_MAX = 4,
};

/* "uid_usage": hash by uid. Every insert into conns/subs adds one and every successful delete
 * takes one away, in BPF, so user space never races the programs on these counts. */
struct liteipc_uid_usage {
    __u64 conns;
    __u64 subs;
};

/* ---- syscall programs, run with BPF_PROG_RUN; the context is hostile ---- */

/* "proc_ctl": root only. Registers a process into a slot or retires it after an orderly close. */
enum liteipc_proc_op {
    LITEIPC_PROC_REGISTER = 1,
    LITEIPC_PROC_CLOSE = 2,   /* orderly close: notify subscribers, free the slot */
    LITEIPC_PROC_RECLAIM = 3, /* loader reclaimed a dead slot: free it */
    LITEIPC_PROC_DROP_CONN = 4, /* remove conns[conn_id] and return it to its uid's quota */
    LITEIPC_PROC_DROP_SUB = 5,  /* remove subs[target_slot, slot] and return it to its uid's quota */
};

struct liteipc_proc_ctl {
    __u32 op;
    __u32 slot;
    __u32 tgid;
    __u32 uid;
    __u32 gid;
    __s32 result; /* out: 0 or -errno */
    __u64 generation; /* out for REGISTER; in for CLOSE/RECLAIM */
    __u64 start_time; /* in for REGISTER */
    __u64 conn_id;    /* in for DROP_CONN */
    __u32 target_slot; /* in for DROP_SUB */
    __u32 pad;
};

/* "connect": any registered process. Only `handle` and `contract_hash` are read; identity comes
 * from helpers. */
struct liteipc_connect_ctl {
    __u32 handle;
    __s32 result; /* out: 0 or -errno (-EPERM denied, -ENOENT no service, -EOWNERDEAD owner gone,
                   * -EDQUOT the caller's uid holds its quota of connections, -EPROTO the service
                   * serves another interface contract than contract_hash) */
    __u64 conn_id;            /* out */
    __u64 service_generation; /* out: the owner's generation, to watch its liveness */
    __u32 service_slot;       /* out */
    __u32 pad;
    __u64 contract_hash; /* in: the interface contract the caller speaks (liteipc-idl's); 0: any */
};

/* "subscribe": any registered process subscribes itself to (or unsubscribes from) a peer. */
enum liteipc_sub_op {
    LITEIPC_SUB_ADD = 1,
    LITEIPC_SUB_REMOVE = 2,
};

struct liteipc_subscribe_ctl {
    __u32 op;
    __u32 target_slot;
    __u64 target_generation;
    __s32 result; /* out: 0, -ESRCH when the target is already dead, -EPERM unregistered caller,
                   * -EDQUOT the caller's uid holds its quota of subscriptions */
    __u32 pad;
};

/* "send": a client of a mediated service, once per message. The context is the sender's claim
 * about its own request; who sends, and whether it still may, the program finds out itself. */
struct liteipc_send_ctl {
    __u64 conn_id;
    __u32 slot;
    __u32 code;
    __u32 flags;
    __u32 payload_kind;
    __u64 payload_offset;
    __u64 payload_length;
    __u64 call_sequence;
    __s32 result; /* out: 0 or -errno (-EPERM the policy refuses the sender now, -ENOTCONN not the
                   * sender's connection, -EOWNERDEAD the service is gone, -EAGAIN ring full;
                   * a mediated topic's publish: -ERANGE a sample outside the pool, -EALREADY a
                   * sequence not above the last one stamped) */
    __u32 pad;
};

#ifdef __cplusplus
static_assert(sizeof(struct liteipc_proc) == 56, "ABI: liteipc_proc");
static_assert(sizeof(struct liteipc_death_record) == 40, "ABI: liteipc_death_record");
static_assert(sizeof(struct liteipc_connect_record) == 56, "ABI: liteipc_connect_record");
static_assert(sizeof(struct liteipc_service) == 2 * LITEIPC_NAME_MAX + 88, "ABI: liteipc_service");
static_assert(sizeof(struct liteipc_grant_key) == 24, "ABI: liteipc_grant_key");
static_assert(sizeof(struct liteipc_grant) == 16, "ABI: liteipc_grant");
static_assert(sizeof(struct liteipc_conn) == 56, "ABI: liteipc_conn");
static_assert(sizeof(struct liteipc_topic) == 32, "ABI: liteipc_topic");
static_assert(sizeof(struct liteipc_proc_ctl) == 56, "ABI: liteipc_proc_ctl");
static_assert(sizeof(struct liteipc_connect_ctl) == 40, "ABI: liteipc_connect_ctl");
static_assert(sizeof(struct liteipc_subscribe_ctl) == 24, "ABI: liteipc_subscribe_ctl");
static_assert(sizeof(struct liteipc_sub) == 24, "ABI: liteipc_sub");
static_assert(sizeof(struct liteipc_uid_usage) == 16, "ABI: liteipc_uid_usage");
static_assert(sizeof(struct liteipc_svc_stats) == 24, "ABI: liteipc_svc_stats");
static_assert(sizeof(struct liteipc_svc_traffic) == 48, "ABI: liteipc_svc_traffic");
static_assert(sizeof(struct liteipc_monitor_record) == 80, "ABI: liteipc_monitor_record");
static_assert(sizeof(struct liteipc_message_record) == 80, "ABI: liteipc_message_record");
static_assert(sizeof(struct liteipc_send_ctl) == 56, "ABI: liteipc_send_ctl");
#else
_Static_assert(sizeof(struct liteipc_proc) == 56, "ABI: liteipc_proc");
_Static_assert(sizeof(struct liteipc_death_record) == 40, "ABI: liteipc_death_record");
_Static_assert(sizeof(struct liteipc_connect_record) == 56, "ABI: liteipc_connect_record");
_Static_assert(sizeof(struct liteipc_service) == 2 * LITEIPC_NAME_MAX + 88, "ABI: liteipc_service");
_Static_assert(sizeof(struct liteipc_grant_key) == 24, "ABI: liteipc_grant_key");
_Static_assert(sizeof(struct liteipc_grant) == 16, "ABI: liteipc_grant");
_Static_assert(sizeof(struct liteipc_conn) == 56, "ABI: liteipc_conn");
_Static_assert(sizeof(struct liteipc_topic) == 32, "ABI: liteipc_topic");
_Static_assert(sizeof(struct liteipc_proc_ctl) == 56, "ABI: liteipc_proc_ctl");
_Static_assert(sizeof(struct liteipc_connect_ctl) == 40, "ABI: liteipc_connect_ctl");
_Static_assert(sizeof(struct liteipc_subscribe_ctl) == 24, "ABI: liteipc_subscribe_ctl");
_Static_assert(sizeof(struct liteipc_sub) == 24, "ABI: liteipc_sub");
_Static_assert(sizeof(struct liteipc_uid_usage) == 16, "ABI: liteipc_uid_usage");
_Static_assert(sizeof(struct liteipc_svc_stats) == 24, "ABI: liteipc_svc_stats");
_Static_assert(sizeof(struct liteipc_svc_traffic) == 48, "ABI: liteipc_svc_traffic");
_Static_assert(sizeof(struct liteipc_monitor_record) == 80, "ABI: liteipc_monitor_record");
_Static_assert(sizeof(struct liteipc_message_record) == 80, "ABI: liteipc_message_record");
_Static_assert(sizeof(struct liteipc_send_ctl) == 56, "ABI: liteipc_send_ctl");
#endif

#endif /* LITEIPC_ABI_H */
