#include "kernel/kernel_seam.h"

#include <bpf/bpf.h>

#include <tuple>

#include "common/errno_code.h"
#include "kernel/pins.h"

namespace liteipc::detail {
namespace {

// Runs the syscall program `prog` over `ctl`, which it reads and answers in place.
template <typename Ctl>
Result<> run(int prog, Ctl& ctl, const char* name) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctl, .ctx_size_in = sizeof ctl);
    if (bpf_prog_test_run_opts(prog, &opts) != 0) return fail_errno(std::string("run of ") + name, Errc::kernel);
    return {};
}

}  // namespace

Result<KernelSeam> KernelSeam::open(const std::string& pin_root) {
    KernelSeam seam;
    auto procs = open_pin(pin_root, "procs", "the process table");
    if (!procs) return std::unexpected(procs.error());
    // Before any map is read through this binary's structs.
    if (auto ok = check_pinned_abi(pin_root, "this libliteipc"); !ok) return std::unexpected(ok.error());
    seam.procs_fd_ = std::move(*procs);
    auto mapping = Mapping::map(seam.procs_fd_.get(), sizeof(liteipc_proc) * LITEIPC_MAX_PROCS, PROT_READ);
    if (!mapping) return std::unexpected(mapping.error());
    seam.procs_mapping_ = std::move(*mapping);
    for (auto [prog, name, what] : {std::tuple{&seam.connect_prog_, "connect", "the connect program"},
                                    std::tuple{&seam.subscribe_prog_, "subscribe", "the subscribe program"},
                                    std::tuple{&seam.send_prog_, "send", "the send program"}}) {
        auto opened = open_pin(pin_root, name, what);
        if (!opened) return std::unexpected(opened.error());
        *prog = std::move(*opened);
    }
    return seam;
}

const liteipc_proc* KernelSeam::proc(uint32_t slot) const {
    if (slot >= LITEIPC_MAX_PROCS || !procs_mapping_.data()) return nullptr;
    return reinterpret_cast<const liteipc_proc*>(procs_mapping_.data()) + slot;
}

bool KernelSeam::alive(uint32_t slot, uint64_t generation) const {
    const liteipc_proc* p = proc(slot);
    return p && __atomic_load_n(&p->generation, __ATOMIC_ACQUIRE) == generation;
}

Result<liteipc_connect_ctl> KernelSeam::connect(uint32_t handle, uint64_t contract_hash) const {
    liteipc_connect_ctl ctl{};
    ctl.handle = handle;
    ctl.contract_hash = contract_hash;
    if (auto ok = run(connect_prog_.get(), ctl, "connect"); !ok) return std::unexpected(ok.error());
    return ctl;
}

Result<> KernelSeam::subscribe(uint32_t slot, uint64_t generation) const {
    liteipc_subscribe_ctl ctl{};
    ctl.op = LITEIPC_SUB_ADD;
    ctl.target_slot = slot;
    ctl.target_generation = generation;
    if (auto ok = run(subscribe_prog_.get(), ctl, "subscribe"); !ok) return ok;
    if (ctl.result == -ESRCH) return fail(Errc::dead_object, "peer is already gone");
    if (ctl.result != 0) return fail(errc_from_errno(-ctl.result), "subscribe refused", -ctl.result);
    return {};
}

void KernelSeam::unsubscribe(uint32_t slot, uint64_t generation) const {
    liteipc_subscribe_ctl ctl{};
    ctl.op = LITEIPC_SUB_REMOVE;
    ctl.target_slot = slot;
    ctl.target_generation = generation;
    (void)run(subscribe_prog_.get(), ctl, "subscribe");
}

Result<int32_t> KernelSeam::send(const liteipc_send_ctl& message) const {
    liteipc_send_ctl ctl = message;
    ctl.result = 0;
    if (auto ok = run(send_prog_.get(), ctl, "send"); !ok) return std::unexpected(ok.error());
    return ctl.result;
}

}  // namespace liteipc::detail
