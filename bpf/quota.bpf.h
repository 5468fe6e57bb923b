// SPDX-License-Identifier: GPL-2.0
/* Per-uid quotas on what a uid's processes insert into the maps: take one before inserting, give it
 * back after a successful delete. Part of liteipc.bpf.c, which includes it. */
#ifndef LITEIPC_QUOTA_BPF_H
#define LITEIPC_QUOTA_BPF_H

static __always_inline struct liteipc_uid_usage *usage_of(__u32 uid)
{
    struct liteipc_uid_usage fresh = {};
    struct liteipc_uid_usage *usage = bpf_map_lookup_elem(&uid_usage, &uid);

    if (usage)
        return usage;
    bpf_map_update_elem(&uid_usage, &uid, &fresh, BPF_NOEXIST);
    return bpf_map_lookup_elem(&uid_usage, &uid);
}

/* The connections (or subscriptions) all members together hold, against the part of the table
 * root does not keep in reserve: colluding uids, each under its quota, still cannot fill the
 * table. `which` is LITEIPC_LIMIT_CONNS or LITEIPC_LIMIT_SUBS. */
static __always_inline int take_member(__u32 which)
{
    const int conns = which == LITEIPC_LIMIT_CONNS;
    __u32 key = conns ? LITEIPC_COUNTER_MEMBER_CONNS : LITEIPC_COUNTER_MEMBER_SUBS;
    __u32 room = conns ? LITEIPC_LIMIT_MEMBER_CONNS : LITEIPC_LIMIT_MEMBER_SUBS;
    __u64 *held = bpf_map_lookup_elem(&counters, &key), *limit, before;

    if (!held)
        return -ENOSPC;
    before = __sync_fetch_and_add(held, 1);
    limit = bpf_map_lookup_elem(&limits, &room);
    if (limit && *limit && before >= *limit) {
        __sync_fetch_and_add(held, -1);
        count(conns ? LITEIPC_COUNTER_RESERVE_CONNS : LITEIPC_COUNTER_RESERVE_SUBS);
        return -EDQUOT;
    }
    return 0;
}

static __always_inline void give_member(__u32 which)
{
    __u32 key = which == LITEIPC_LIMIT_CONNS ? LITEIPC_COUNTER_MEMBER_CONNS : LITEIPC_COUNTER_MEMBER_SUBS;
    __u64 *held = bpf_map_lookup_elem(&counters, &key);

    if (held)
        __sync_fetch_and_add(held, -1);
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
    if (take_member(which)) {
        __sync_fetch_and_add(counter, -1);
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
    __sync_fetch_and_add(which == LITEIPC_LIMIT_CONNS ? &usage->conns : &usage->subs, -1);
    give_member(which);
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

#endif /* LITEIPC_QUOTA_BPF_H */
