// The library's one seam to the kernel plane: every pin a process opens, the process table it
// reads liveness from, and each run of a BPF program (connect, subscribe, send) goes through here.
// Opened once per process (by its Context) after the loader registered it; it refuses a pinned
// state of another ABI version before reading any map through its structs.
//
// The programs are SEC("syscall") programs run with BPF_PROG_RUN: the context is copied in, the
// program writes its answer into it, and the copy comes back. A run that fails is Errc::kernel; a
// program's own refusal is in the returned ctl's `result` (a negative errno), read by the caller.
#pragma once

#include <cstdint>
#include <string>

#include "common/mapping.h"
#include "liteipc/error.h"
#include "liteipc_abi.h"

namespace liteipc::detail {

class KernelSeam {
public:
    KernelSeam() = default;
    KernelSeam(KernelSeam&&) noexcept = default;
    KernelSeam& operator=(KernelSeam&&) noexcept = default;

    // Checks the pinned ABI version, then opens the process table and the three programs.
    static Result<KernelSeam> open(const std::string& pin_root);

    // The process table's entry for `slot` (read-only, written by BPF alone), or null past its end.
    const liteipc_proc* proc(uint32_t slot) const;
    // Whether the process registered as (slot, generation) still lives: one plain load.
    bool alive(uint32_t slot, uint64_t generation) const;

    // Asks to connect to service `handle`: the ACL check, the interface contract (`contract_hash`,
    // 0: any), the connection's id and the connect record in the service's inbox. `result` 0 is
    // granted; otherwise -errno (connect_refused).
    Result<liteipc_connect_ctl> connect(uint32_t handle, uint64_t contract_hash = 0) const;
    // Death records of (slot, generation) to this process's inbox from now on. Errc::dead_object
    // when it is gone already.
    Result<> subscribe(uint32_t slot, uint64_t generation) const;
    void unsubscribe(uint32_t slot, uint64_t generation) const;
    // One message to a mediated service; returns the program's result (0 or -errno).
    Result<int32_t> send(const liteipc_send_ctl& message) const;

    // The pinned connect program itself, for tests that run it with forged contexts.
    int connect_program_fd() const noexcept { return connect_prog_.get(); }

private:
    UniqueFd procs_fd_;
    Mapping procs_mapping_;
    UniqueFd connect_prog_;
    UniqueFd subscribe_prog_;
    UniqueFd send_prog_;
};

}  // namespace liteipc::detail
