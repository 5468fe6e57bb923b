// What an unprivileged member of the liteipc group may and may not do, checked from inside such a
// process (the test peer's `unprivileged_checks` role) and reported as bits.
#pragma once

#include <bpf/bpf.h>
#include <sys/mman.h>

#include "liteipc_abi.h"
#include "../test_processes.h"

namespace liteipc::testing {

enum Check : int {
    opened = 1 << 0,
    reads_table = 1 << 1,
    cannot_update_table = 1 << 2,
    cannot_map_table_writable = 1 << 3,
    cannot_create_maps = 1 << 4,
    cannot_open_inboxes = 1 << 5,
    cannot_open_other_inbox = 1 << 6,
    cannot_open_proc_ctl = 1 << 7,
};

inline int run_unprivileged(const ContextOptions& options, uint32_t other_inbox_id) {
    if (!become_group_member()) return 0;
    int passed = 0;
    auto context = Context::open(options);
    if (!context) {
        std::fprintf(stderr, "unprivileged open: %s\n", context.error().describe().c_str());
        return passed;
    }
    passed |= opened;
    if (context->alive(context->self())) passed |= reads_table;

    int procs = bpf_obj_get((options.pin_root + "/procs").c_str());
    liteipc_proc forged{};
    forged.state = LITEIPC_PROC_ALIVE;
    forged.generation = 12345;
    uint32_t slot = context->self().slot;
    if (procs >= 0 && bpf_map_update_elem(procs, &slot, &forged, BPF_ANY) != 0) passed |= cannot_update_table;
    void* writable = ::mmap(nullptr, sizeof(liteipc_proc) * LITEIPC_MAX_PROCS, PROT_READ | PROT_WRITE, MAP_SHARED,
                            procs, 0);
    if (procs >= 0 && writable == MAP_FAILED) passed |= cannot_map_table_writable;

    if (bpf_map_create(BPF_MAP_TYPE_ARRAY, "forged", 4, 4, 1, nullptr) < 0) passed |= cannot_create_maps;
    if (bpf_obj_get((options.pin_root + "/inboxes").c_str()) < 0) passed |= cannot_open_inboxes;
    if (bpf_map_get_fd_by_id(other_inbox_id) < 0) passed |= cannot_open_other_inbox;
    if (bpf_obj_get((options.pin_root + "/proc_ctl").c_str()) < 0) passed |= cannot_open_proc_ctl;
    return passed;
}

}  // namespace liteipc::testing
