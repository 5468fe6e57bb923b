// SPDX-License-Identifier: GPL-2.0
/* Retiring a process: one death record to the loader and to each subscriber, and what it held
 * dropped. Part of liteipc.bpf.c, which includes it. */
#ifndef LITEIPC_RETIRE_BPF_H
#define LITEIPC_RETIRE_BPF_H

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

#endif /* LITEIPC_RETIRE_BPF_H */
