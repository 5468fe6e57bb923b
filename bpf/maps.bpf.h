// SPDX-License-Identifier: GPL-2.0
/* The kernel plane's maps (pinned by the loader; layouts in liteipc_abi.h) and the writes every
 * program shares: counters, the monitor ring, a process's inbox. Part of liteipc.bpf.c, which includes it. */
#ifndef LITEIPC_MAPS_BPF_H
#define LITEIPC_MAPS_BPF_H

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
    __uint(max_entries, LITEIPC_MAX_SERVICES);
    __type(key, struct liteipc_name_key);
    __type(value, struct liteipc_topic);
} topics SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, LITEIPC_MAX_GRANTS);
    __type(key, struct liteipc_grant_key);
    __type(value, struct liteipc_grant);
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

#endif /* LITEIPC_MAPS_BPF_H */
