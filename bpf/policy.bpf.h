// SPDX-License-Identifier: GPL-2.0
/* Who is calling, and whether a service's policy admits it: the one check connect and send share. Part of liteipc.bpf.c, which includes it. */
#ifndef LITEIPC_POLICY_BPF_H
#define LITEIPC_POLICY_BPF_H

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

/* One policy, of any of the kinds services have, applied to one process: `grant_handle` keys its
 * grants (a service's handle, or a topic's id with the publisher grant kinds). */
static __always_inline int admits(__u32 grant_handle, __u32 pid_kind, __u32 uid_kind, __u32 policy,
                                  __u32 policy_uid, __u32 uid_min, __u32 uid_max, __u32 uid,
                                  __u32 slot, __u64 generation)
{
    struct liteipc_grant_key key = {.handle = grant_handle, .kind = pid_kind, .id = slot,
                                    .generation = generation};

    if (bpf_map_lookup_elem(&grants, &key))
        return 1;
    switch (policy) {
    case LITEIPC_POLICY_ANYONE:
        return 1;
    case LITEIPC_POLICY_SAME_UID:
        return uid == policy_uid;
    case LITEIPC_POLICY_UID_RANGE:
        return uid >= uid_min && uid <= uid_max;
    case LITEIPC_POLICY_UID_LIST:
        key.kind = uid_kind;
        key.id = uid;
        key.generation = 0;
        return bpf_map_lookup_elem(&grants, &key) != 0;
    default:
        return 0; /* LITEIPC_POLICY_PIDS: only grants, checked above */
    }
}

static __always_inline int allowed(__u32 handle, const struct liteipc_service *svc, __u32 uid,
                                   __u32 client_slot, __u64 client_generation)
{
    return admits(handle, LITEIPC_GRANT_PID, LITEIPC_GRANT_UID, svc->policy, svc->owner_uid, svc->uid_min,
                  svc->uid_max, uid, client_slot, client_generation);
}

/* Whether the owner of `svc` may publish under its name: yes when no topic record names it. */
static __always_inline int publisher_admitted(const struct liteipc_service *svc, const struct liteipc_proc *owner,
                                              __u32 owner_slot)
{
    struct liteipc_topic *topic = bpf_map_lookup_elem(&topics, svc->name);

    if (!topic)
        return 1;
    if (owner->uid == topic->creator_uid)
        return 1; /* whoever made the topic may always publish on it again */
    return admits(topic->topic_id, LITEIPC_GRANT_PUB_PID, LITEIPC_GRANT_PUB_UID, topic->policy,
                  topic->creator_uid, topic->uid_min, topic->uid_max, owner->uid, owner_slot,
                  owner->generation);
}

#endif /* LITEIPC_POLICY_BPF_H */
