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

#endif /* LITEIPC_POLICY_BPF_H */
