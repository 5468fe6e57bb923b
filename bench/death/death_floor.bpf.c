// SPDX-License-Identifier: GPL-2.0
/* The raw kernel floor for death notification: the same sched_process_exit observation liteipc
 * makes, reduced to one hash lookup and one ringbuf record, for the pids the benchmark watches.
 * It touches none of liteipc's maps. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct floor_record {
    __u32 tgid;
    __u32 pad;
    __u64 timestamp_ns; /* bpf_ktime_get_ns: CLOCK_MONOTONIC */
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);  /* tgid */
    __type(value, __u32);
} watched SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} floor_events SEC(".maps");

SEC("tp/sched/sched_process_exit")
int floor_on_exit(struct trace_event_raw_sched_process_exit *ctx)
{
    /* Read the argument before any helper call (clang 14 + verifier). */
    bool group_dead = ctx->group_dead;
    struct floor_record *rec;
    __u64 now;
    __u32 tgid;

    if (!group_dead)
        return 0;
    now = bpf_ktime_get_ns(); /* on entry, as liteipc stamps its record */
    tgid = bpf_get_current_pid_tgid() >> 32;
    if (!bpf_map_lookup_elem(&watched, &tgid))
        return 0;
    bpf_map_delete_elem(&watched, &tgid);
    rec = bpf_ringbuf_reserve(&floor_events, sizeof(*rec), 0);
    if (!rec)
        return 0;
    rec->tgid = tgid;
    rec->pad = 0;
    rec->timestamp_ns = now;
    bpf_ringbuf_submit(rec, 0);
    return 0;
}
