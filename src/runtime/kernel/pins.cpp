#include "kernel/pins.h"

#include <bpf/bpf.h>

#include "common/log.h"
#include "liteipc_abi.h"

namespace liteipc::detail {

Result<UniqueFd> open_pin(const std::string& pin_root, const std::string& name, const std::string& what,
                          PinRights access) {
    const std::string path = pin_root + "/" + name;
    LIBBPF_OPTS(bpf_obj_get_opts, opts, .file_flags = access == PinRights::read_only ? static_cast<__u32>(BPF_F_RDONLY) : 0u);
    int fd = bpf_obj_get_opts(path.c_str(), &opts);
    if (fd >= 0) return UniqueFd(fd);
    if (errno == EACCES || errno == EPERM)
        return fail_errno("may not open " + what + " at " + path + ": join the liteipc group", Errc::permission_denied);
    return fail_errno("open of " + what + " at " + path + ": is liteipc-loader running with this pin root?",
                      Errc::loader_unavailable);
}

Result<> check_pinned_abi(const std::string& pin_root, const std::string& speaker) {
    // One fix whoever refuses: the pinned state and every binary using it must be of one version.
    const std::string fix = "stop every liteipc process and the loader of " + pin_root +
                            ", then run: liteipc-loader --unload --pin-root " + pin_root +
                            " and start the liteipc-loader of this version (libliteipc and the loader come from "
                            "one release)";
    const std::string ours = std::to_string(LITEIPC_ABI_VERSION);
    auto abi = open_pin(pin_root, "abi", "the ABI version", PinRights::read_only);
    if (!abi && abi.error().code != Errc::loader_unavailable) return std::unexpected(abi.error());
    if (!abi) {
        LITEIPC_LOG(error, "pinned state under %s has no ABI version; %s speaks ABI %s", pin_root.c_str(),
                    speaker.c_str(), ours.c_str());
        return fail(Errc::abi_mismatch, "pinned state under " + pin_root + " has no ABI version (it comes from liteipc "
                                        "ABI 1); " + speaker + " speaks ABI " + ours + ": " + fix);
    }
    const uint32_t key = 0;
    uint64_t version = 0;
    if (bpf_map_lookup_elem(abi->get(), &key, &version) != 0)
        return fail_errno("read of " + pin_root + "/abi", Errc::kernel);
    if (version == LITEIPC_ABI_VERSION) return {};
    LITEIPC_LOG(error, "pinned state under %s has ABI version %llu; %s speaks %s", pin_root.c_str(),
                static_cast<unsigned long long>(version), speaker.c_str(), ours.c_str());
    return fail(Errc::abi_mismatch, "pinned state under " + pin_root + " has ABI version " + std::to_string(version) +
                                        ", " + speaker + " speaks " + ours + ": " + fix);
}

}  // namespace liteipc::detail
