#include "kernel_plane.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "liteipc.skel.h"
#include "common/log.h"
#include "kernel/pins.h"

namespace liteipc::loader {
namespace fs = std::filesystem;

namespace {

constexpr const char* kExitLinkPin = "link_process_exit";

// Who may open each pin: clients need the process table (read-write open, to mmap the frozen
// map), the registry (read-only) and the connect/subscribe/send programs; nothing else. A
// mediated connection's message ring reaches its service only as an fd from the loader.
struct PinAccess {
    const char* name;
    mode_t mode;
};
constexpr PinAccess kPinAccess[] = {
    {"procs", 0660},     {"tgid_slot", 0640}, {"services", 0640}, {"svc_names", 0640},
    {"topics", 0640},
    {"grants", 0640},    {"svc_stats", 0640}, {"counters", 0640}, {"connect", 0660},
    {"subscribe", 0660}, {"send", 0660},      {"deaths", 0600},   {"inboxes", 0600},
    {"conns", 0600},     {"msg_rings", 0600}, {"subs", 0600},     {"proc_ctl", 0600},
    {kExitLinkPin, 0600}, {"limits", 0600},   {"uid_usage", 0600}, {"abi", 0640},
    {"svc_traffic", 0640},
    // The loader alone consumes the monitor ring (a consumer maps its position writable: one
    // member could move it and blind every watcher); watchers get copies over their sockets.
    {"monitor", 0600},   {"mon_on", 0640},
};

bool on_bpffs(const fs::path& path) {
    struct statfs sfs{};
    return ::statfs(path.c_str(), &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC;
}

Result<> ensure_pin_root(const std::string& pin_root) {
    fs::path root(pin_root);
    const fs::path standard = "/sys/fs/bpf";
    if (!on_bpffs(standard) && root.string().starts_with(standard.string() + "/")) {
        if (::mount("bpf", standard.c_str(), "bpf", 0, "mode=0755") != 0)
            return fail_errno("mount of bpffs on /sys/fs/bpf", Errc::kernel);
        LITEIPC_LOG(info, "mounted bpffs on /sys/fs/bpf");
    }
    if (!on_bpffs(root.parent_path()))
        return fail(Errc::kernel, root.parent_path().string() +
                                      " is not on a bpffs mount. Fix: mount -t bpf bpf /sys/fs/bpf");
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec) return fail(Errc::system, "cannot create pin root " + pin_root + ": " + ec.message());
    // Group members must be able to reach the pins. The directories above the root are not ours:
    // say what is missing instead of changing their mode.
    for (fs::path dir = root.parent_path(); on_bpffs(dir) && dir != dir.root_path(); dir = dir.parent_path()) {
        struct stat st{};
        if (::stat(dir.c_str(), &st) == 0 && !(st.st_mode & S_IXOTH))
            LITEIPC_LOG(warn, "%s is not searchable by others: group members cannot reach %s (fix: chmod o+x %s)",
                        dir.c_str(), pin_root.c_str(), dir.c_str());
    }
    return {};
}

template <typename K, typename V>
std::optional<V> lookup(const bpf_map* map, const K& key) {
    V value{};
    if (bpf_map__lookup_elem(map, &key, sizeof key, &value, sizeof value, 0) != 0) return std::nullopt;
    return value;
}

template <typename K, typename V>
Result<> update(const bpf_map* map, const K& key, const V& value, uint64_t flags = BPF_ANY) {
    if (bpf_map__update_elem(map, &key, sizeof key, &value, sizeof value, flags) != 0)
        return fail_errno(std::string("update of map ") + bpf_map__name(map), Errc::kernel);
    return {};
}

template <typename K, typename V>
void for_each(const bpf_map* map, const std::function<void(const K&, const V&)>& visit) {
    K key{}, next{};
    const K* previous = nullptr;
    while (bpf_map__get_next_key(map, previous, &next, sizeof next) == 0) {
        key = next;
        previous = &key;
        if (auto value = lookup<K, V>(map, key)) visit(key, *value);
    }
}

// libbpf's own messages go to our log; its warnings about absent pins are expected on a first start.
int libbpf_to_log(enum libbpf_print_level level, const char* format, va_list args) {
    if (!detail::log_enabled(detail::LogLevel::debug) && level != LIBBPF_WARN) return 0;
    char line[512];
    std::vsnprintf(line, sizeof line, format, args);
    line[strcspn(line, "\n")] = '\0';
    if (std::strstr(line, "failed to open link") != nullptr) return 0;
    LITEIPC_LOG(debug, "libbpf: %s", line);
    return 0;
}

}  // namespace

Result<std::unique_ptr<KernelPlane>> KernelPlane::start(const KernelPlaneOptions& options) {
    libbpf_set_print(libbpf_to_log);
    if (auto ok = ensure_pin_root(options.pin_root); !ok) return std::unexpected(ok.error());
    std::unique_ptr<KernelPlane> plane(new KernelPlane);
    if (auto ok = plane->load_or_adopt(options); !ok) return std::unexpected(ok.error());
    if (auto ok = plane->pin_programs(options); !ok) return std::unexpected(ok.error());
    if (auto ok = plane->attach_exit_tracepoint(options.pin_root); !ok) return std::unexpected(ok.error());
    if (auto ok = plane->set_permissions(options); !ok) return std::unexpected(ok.error());
    // The watchers of an earlier loader went with its sockets.
    if (auto ok = plane->set_watchers(0); !ok) return std::unexpected(ok.error());

    // Every process reads liveness from this table with plain loads; only BPF writes it.
    auto mapping = detail::Mapping::map(bpf_map__fd(plane->skel_->maps.procs),
                                        sizeof(liteipc_proc) * LITEIPC_MAX_PROCS, PROT_READ);
    if (!mapping) return std::unexpected(mapping.error());
    plane->procs_mapping_ = std::move(*mapping);
    plane->procs_ = reinterpret_cast<const liteipc_proc*>(plane->procs_mapping_.data());
    return plane;
}

Result<> KernelPlane::load_or_adopt(const KernelPlaneOptions& options) {
    // open
    auto opened = detail::BpfSkeleton<liteipc_bpf>::open();
    if (!opened) return std::unexpected(opened.error());
    skel_ = std::move(*opened);
    // configure: maps are pinned by name under the root; libbpf reuses compatible pinned maps.
    skel_->rodata->abi_version = LITEIPC_ABI_VERSION;
    bpf_map* map;
    bool reused = false;
    bpf_object__for_each_map(map, skel_->obj) {
        if (bpf_map__is_internal(map)) continue;
        std::string path = options.pin_root + "/" + bpf_map__name(map);
        if (bpf_map__set_pin_path(map, path.c_str()) != 0)
            return fail_errno("set pin path " + path, Errc::kernel);
        reused = reused || fs::exists(path);
    }
    adopted_ = reused;
    if (reused)
        if (auto ok = detail::check_pinned_abi(options.pin_root, "this loader"); !ok) return ok;
    // load
    if (!skel_.load()) {
        return fail_errno(std::string("load of the BPF programs failed") +
                              (reused ? " (pinned maps under " + options.pin_root +
                                            " may come from an incompatible version: run "
                                            "liteipc-loader --unload)"
                                      : ""),
                          Errc::kernel);
    }
    // Freeze the process table: from now on only BPF writes it. An adopted table is frozen
    // already (the kernel then answers EPERM or EBUSY).
    if (bpf_map_freeze(bpf_map__fd(skel_->maps.procs)) != 0 && !(adopted_ && (errno == EBUSY || errno == EPERM)))
        return fail_errno("freeze of the process table", Errc::kernel);
    if (!adopted_) {
        const uint32_t key = 0;
        const uint64_t version = LITEIPC_ABI_VERSION;
        if (auto ok = update(skel_->maps.abi, key, version); !ok) return ok;
    }
    if (adopted_) LITEIPC_LOG(info, "adopted pinned maps under %s", options.pin_root.c_str());
    return {};
}

Result<> KernelPlane::pin_programs(const KernelPlaneOptions& options) {
    // Syscall programs are re-pinned on every start; processes holding the previous ones keep
    // using them, and both operate on the same pinned maps.
    bpf_program* programs[] = {skel_->progs.proc_ctl, skel_->progs.connect, skel_->progs.subscribe,
                               skel_->progs.send};
    for (bpf_program* prog : programs) {
        std::string path = options.pin_root + "/" + bpf_program__name(prog);
        ::unlink(path.c_str());
        if (bpf_program__pin(prog, path.c_str()) != 0)
            return fail_errno("pin of program " + path, Errc::kernel);
    }
    return {};
}

Result<> KernelPlane::attach_exit_tracepoint(const std::string& pin_root) {
    std::string path = pin_root + "/" + kExitLinkPin;
    if (bpf_link* pinned = bpf_link__open(path.c_str())) {
        // An earlier loader's link still runs: deaths were observed while no loader ran.
        bpf_link__destroy(pinned);
        return {};
    }
    // libbpf finds the tracepoint's id through tracefs.
    if (!fs::exists("/sys/kernel/tracing/events") && !fs::exists("/sys/kernel/debug/tracing/events")) {
        if (::mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0)
            return fail_errno("mount of tracefs on /sys/kernel/tracing", Errc::kernel);
        LITEIPC_LOG(info, "mounted tracefs on /sys/kernel/tracing");
    }
    bpf_link* link = bpf_program__attach(skel_->progs.on_process_exit);
    if (!link) return fail_errno("attach of sched_process_exit", Errc::kernel);
    int err = bpf_link__pin(link, path.c_str());
    bpf_link__destroy(link);  // the pin keeps it attached
    if (err != 0) {
        errno = -err;
        return fail_errno("pin of link " + path, Errc::kernel);
    }
    return {};
}

Result<> KernelPlane::set_permissions(const KernelPlaneOptions& options) {
    if (::chown(options.pin_root.c_str(), 0, options.group) != 0 ||
        ::chmod(options.pin_root.c_str(), options.group ? 0750 : 0700) != 0)
        return fail_errno("chmod of " + options.pin_root);
    for (const PinAccess& pin : kPinAccess) {
        std::string path = options.pin_root + "/" + pin.name;
        mode_t mode = options.group ? pin.mode : (pin.mode & 0700);
        if (::chown(path.c_str(), 0, options.group) != 0 || ::chmod(path.c_str(), mode) != 0)
            return fail_errno("chmod of " + path);
    }
    return {};
}

Result<UniqueFd> KernelPlane::lock_pin_root(const std::string& pin_root) {
    int fd = ::open(pin_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return fail_errno("open of pin root " + pin_root);
    UniqueFd lock(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return fail(Errc::already_exists, "another liteipc-loader already serves pin root " + pin_root +
                                                  "; stop it first (systemctl stop liteipc-loader, or kill its pid)");
        return fail_errno("flock of " + pin_root);
    }
    return lock;
}

Result<> KernelPlane::unload(const std::string& pin_root) {
    std::error_code ec;
    if (!fs::exists(pin_root, ec)) return fail(Errc::not_found, "nothing to unload: no pin root at " + pin_root);
    // Held until the pins are gone: a loader starting meanwhile waits for nothing and fails.
    auto lock = lock_pin_root(pin_root);
    if (!lock) return std::unexpected(lock.error());
    // Removing the link pin detaches the program; removing map pins frees the maps once no
    // process holds them.
    fs::remove_all(pin_root, ec);
    if (ec) return fail(Errc::system, "cannot remove " + pin_root + ": " + ec.message());
    return {};
}

KernelPlane::~KernelPlane() = default;

std::optional<uint32_t> KernelPlane::slot_of(pid_t tgid) const {
    return lookup<uint32_t, uint32_t>(skel_->maps.tgid_slot, static_cast<uint32_t>(tgid));
}

std::optional<uint32_t> KernelPlane::free_slot() const {
    for (uint32_t slot = 0; slot < LITEIPC_MAX_PROCS; ++slot)
        if (__atomic_load_n(&procs_[slot].state, __ATOMIC_ACQUIRE) == LITEIPC_PROC_FREE) return slot;
    return std::nullopt;
}

Result<> KernelPlane::run_proc_ctl(liteipc_proc_ctl& ctl) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctl, .ctx_size_in = sizeof ctl);
    if (bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.proc_ctl), &opts) != 0)
        return fail_errno("run of proc_ctl", Errc::kernel);
    if (ctl.result != 0) return fail(Errc::kernel, "proc_ctl refused", -ctl.result);
    return {};
}

Result<Registration> KernelPlane::register_proc(uint32_t slot, pid_t tgid, uid_t uid, gid_t gid,
                                                uint64_t start_time) {
    liteipc_proc_ctl ctl{};
    ctl.start_time = start_time;
    ctl.op = LITEIPC_PROC_REGISTER;
    ctl.slot = slot;
    ctl.tgid = static_cast<uint32_t>(tgid);
    ctl.uid = uid;
    ctl.gid = gid;
    if (auto ok = run_proc_ctl(ctl); !ok) return std::unexpected(ok.error());
    return Registration{slot, ctl.generation};
}

Result<> KernelPlane::close_proc(uint32_t slot, uint64_t generation) {
    liteipc_proc_ctl ctl{};
    ctl.op = LITEIPC_PROC_CLOSE;
    ctl.slot = slot;
    ctl.generation = generation;
    return run_proc_ctl(ctl);
}

Result<> KernelPlane::reclaim_proc(uint32_t slot, uint64_t generation) {
    liteipc_proc_ctl ctl{};
    ctl.op = LITEIPC_PROC_RECLAIM;
    ctl.slot = slot;
    ctl.generation = generation;
    return run_proc_ctl(ctl);
}

Result<UniqueFd> KernelPlane::create_inbox(uint32_t slot) {
    // Inner maps need unique names; the slot makes them so and tells bpftool readers whose it is.
    std::string name = "inbox_" + std::to_string(slot);
    int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, name.c_str(), 0, 0, LITEIPC_INBOX_BYTES, nullptr);
    if (fd < 0) return fail_errno("create of inbox ring buffer " + name, Errc::kernel);
    UniqueFd inbox(fd);
    if (auto ok = update(skel_->maps.inboxes, slot, static_cast<uint32_t>(fd)); !ok)
        return std::unexpected(ok.error());
    return inbox;
}

Result<UniqueFd> KernelPlane::inbox_of(uint32_t slot) const {
    auto id = lookup<uint32_t, uint32_t>(skel_->maps.inboxes, slot);
    if (!id) return fail(Errc::not_found, "no inbox for slot " + std::to_string(slot));
    int fd = bpf_map_get_fd_by_id(*id);
    if (fd < 0) return fail_errno("open of inbox " + std::to_string(*id), Errc::kernel);
    return UniqueFd(fd);
}

Result<UniqueFd> KernelPlane::create_message_ring(uint64_t conn_id) {
    std::string name = "msg_" + std::to_string(conn_id);
    if (name.size() > 15) name = "msg_" + std::to_string(conn_id % 100000000000ULL);  // names are cut at 15
    int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, name.c_str(), 0, 0, LITEIPC_MESSAGE_RING_BYTES, nullptr);
    if (fd < 0) return fail_errno("create of message ring " + name, Errc::kernel);
    UniqueFd ring(fd);
    if (auto ok = update(skel_->maps.msg_rings, conn_id, static_cast<uint32_t>(fd)); !ok)
        return std::unexpected(ok.error());
    return ring;
}

void KernelPlane::drop_inbox(uint32_t slot) {
    bpf_map__delete_elem(skel_->maps.inboxes, &slot, sizeof slot, 0);
}

Result<> KernelPlane::put_service(uint32_t handle, const liteipc_service& service) {
    liteipc_name_key key{};
    std::memcpy(key.name, service.name, sizeof key.name);
    if (auto ok = update(skel_->maps.svc_names, key, handle, BPF_NOEXIST); !ok) {
        if (errno == EEXIST) return fail(Errc::already_exists, std::string("service name taken: ") + service.name);
        return ok;
    }
    if (auto ok = update(skel_->maps.services, handle, service); !ok) {
        bpf_map__delete_elem(skel_->maps.svc_names, &key, sizeof key, 0);
        return ok;
    }
    return {};
}

Result<> KernelPlane::drop_service(uint32_t handle, const char* name) {
    liteipc_name_key key{};
    std::strncpy(key.name, name, sizeof key.name - 1);
    bpf_map__delete_elem(skel_->maps.svc_names, &key, sizeof key, 0);
    bpf_map__delete_elem(skel_->maps.svc_stats, &handle, sizeof handle, 0);
    drop_traffic_counters(handle);
    if (bpf_map__delete_elem(skel_->maps.services, &handle, sizeof handle, 0) != 0)
        return fail(Errc::not_found, "no service with handle " + std::to_string(handle));
    return {};
}

std::optional<liteipc_service> KernelPlane::service(uint32_t handle) const {
    return lookup<uint32_t, liteipc_service>(skel_->maps.services, handle);
}

std::optional<uint32_t> KernelPlane::handle_of(const char* name) const {
    liteipc_name_key key{};
    std::strncpy(key.name, name, sizeof key.name - 1);
    return lookup<liteipc_name_key, uint32_t>(skel_->maps.svc_names, key);
}

namespace {
liteipc_name_key name_key(const char* name) {
    liteipc_name_key key{};
    std::strncpy(key.name, name, sizeof key.name - 1);
    return key;
}
}  // namespace

Result<> KernelPlane::put_topic(const char* name, const liteipc_topic& topic) {
    return update(skel_->maps.topics, name_key(name), topic);
}

void KernelPlane::drop_topic(const char* name) {
    const liteipc_name_key key = name_key(name);
    bpf_map__delete_elem(skel_->maps.topics, &key, sizeof key, 0);
}

std::optional<liteipc_topic> KernelPlane::topic(const char* name) const {
    return lookup<liteipc_name_key, liteipc_topic>(skel_->maps.topics, name_key(name));
}

void KernelPlane::for_each_topic(const std::function<void(const std::string&, const liteipc_topic&)>& visit) const {
    for_each<liteipc_name_key, liteipc_topic>(skel_->maps.topics, [&](const liteipc_name_key& key, const liteipc_topic& t) {
        visit(std::string(key.name, strnlen(key.name, sizeof key.name)), t);
    });
}

Result<> KernelPlane::put_grant(const liteipc_grant_key& key, const liteipc_grant& grant) {
    return update(skel_->maps.grants, key, grant);
}

void KernelPlane::drop_grant(const liteipc_grant_key& key) {
    bpf_map__delete_elem(skel_->maps.grants, &key, sizeof key, 0);
}

void KernelPlane::for_each_grant(
    const std::function<void(const liteipc_grant_key&, const liteipc_grant&)>& visit) const {
    for_each<liteipc_grant_key, liteipc_grant>(skel_->maps.grants, visit);
}

void KernelPlane::for_each_service(const std::function<void(uint32_t, const liteipc_service&)>& visit) const {
    for_each<uint32_t, liteipc_service>(skel_->maps.services, visit);
}

std::optional<liteipc_svc_stats> KernelPlane::stats(uint32_t handle) const {
    return lookup<uint32_t, liteipc_svc_stats>(skel_->maps.svc_stats, handle);
}

Result<UniqueFd> KernelPlane::create_traffic_counters(uint32_t handle) {
    // Typed with the object's own BTF, so `bpftool map dump` prints the counters by name.
    const btf* types = bpf_object__btf(skel_->obj);
    int value_type = types ? btf__find_by_name_kind(types, "liteipc_svc_traffic", BTF_KIND_STRUCT) : -1;
    int key_type = types ? btf__find_by_name_kind(types, "__u32", BTF_KIND_TYPEDEF) : -1;
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
    if (value_type > 0 && key_type > 0 && btf__fd(types) >= 0) {
        opts.btf_fd = static_cast<__u32>(btf__fd(types));
        opts.btf_key_type_id = static_cast<__u32>(key_type);
        opts.btf_value_type_id = static_cast<__u32>(value_type);
    }
    std::string name = "traffic_" + std::to_string(handle);
    int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name.c_str(), sizeof(uint32_t), sizeof(liteipc_svc_traffic), 1, &opts);
    if (fd < 0) return fail_errno("create of traffic counters " + name, Errc::kernel);
    UniqueFd counters(fd);
    if (auto ok = update(skel_->maps.svc_traffic, handle, static_cast<uint32_t>(fd)); !ok)
        return std::unexpected(ok.error());
    return counters;
}

std::optional<liteipc_svc_traffic> KernelPlane::traffic(uint32_t handle) const {
    auto id = lookup<uint32_t, uint32_t>(skel_->maps.svc_traffic, handle);
    if (!id) return std::nullopt;
    UniqueFd fd(bpf_map_get_fd_by_id(*id));
    if (!fd) return std::nullopt;
    liteipc_svc_traffic value{};
    uint32_t zero = 0;
    if (bpf_map_lookup_elem(fd.get(), &zero, &value) != 0) return std::nullopt;
    return value;
}

void KernelPlane::drop_traffic_counters(uint32_t handle) {
    bpf_map__delete_elem(skel_->maps.svc_traffic, &handle, sizeof handle, 0);
}

void KernelPlane::drop_orphan_traffic_counters() {
    std::vector<uint32_t> orphans;
    for_each<uint32_t, uint32_t>(skel_->maps.svc_traffic, [&](const uint32_t& handle, const uint32_t&) {
        if (!service(handle)) orphans.push_back(handle);
    });
    for (uint32_t handle : orphans) drop_traffic_counters(handle);
}

Result<> KernelPlane::set_watchers(uint64_t watchers) {
    return update(skel_->maps.mon_on, uint32_t{0}, watchers);
}

uint64_t KernelPlane::lost_records() const { return counter(LITEIPC_COUNTER_LOST_RECORDS); }

uint64_t KernelPlane::counter(liteipc_counter which) const {
    return lookup<uint32_t, uint64_t>(skel_->maps.counters, static_cast<uint32_t>(which)).value_or(0);
}

Result<> KernelPlane::set_limit(liteipc_limit which, uint64_t value) {
    return update(skel_->maps.limits, static_cast<uint32_t>(which), value);
}

liteipc_uid_usage KernelPlane::usage_of(uid_t uid) const {
    return lookup<uint32_t, liteipc_uid_usage>(skel_->maps.uid_usage, static_cast<uint32_t>(uid))
        .value_or(liteipc_uid_usage{});
}

void KernelPlane::for_each_usage(const std::function<void(uint32_t, const liteipc_uid_usage&)>& visit) const {
    for_each<uint32_t, liteipc_uid_usage>(skel_->maps.uid_usage, visit);
}

Result<uint32_t> KernelPlane::next_handle() {
    // Kept in a pinned map so that a restarted loader never hands out a handle twice.
    const uint32_t key = LITEIPC_COUNTER_NEXT_HANDLE;
    uint64_t last = lookup<uint32_t, uint64_t>(skel_->maps.counters, key).value_or(0);
    if (last >= UINT32_MAX) return fail(Errc::no_memory, "service handles exhausted");
    if (auto ok = update(skel_->maps.counters, key, last + 1); !ok) return std::unexpected(ok.error());
    return static_cast<uint32_t>(last + 1);
}

std::optional<liteipc_conn> KernelPlane::conn(uint64_t conn_id) const {
    return lookup<uint64_t, liteipc_conn>(skel_->maps.conns, conn_id);
}

void KernelPlane::drop_conn(uint64_t conn_id) {
    // Through the program: it returns the entry to its uid's quota, atomically with the delete.
    liteipc_proc_ctl ctl{};
    ctl.op = LITEIPC_PROC_DROP_CONN;
    ctl.conn_id = conn_id;
    (void)run_proc_ctl(ctl);
    // Its message ring, if the service is mediated: the service's mapping keeps it until it lets go.
    bpf_map__delete_elem(skel_->maps.msg_rings, &conn_id, sizeof conn_id, 0);
}

void KernelPlane::for_each_conn(const std::function<void(uint64_t, const liteipc_conn&)>& visit) const {
    for_each<uint64_t, liteipc_conn>(skel_->maps.conns, visit);
}

void KernelPlane::drop_subscriptions_of(uint32_t subscriber_slot) {
    std::vector<liteipc_sub_key> stale;
    for_each<liteipc_sub_key, liteipc_sub>(skel_->maps.subs, [&](const liteipc_sub_key& key, const liteipc_sub&) {
        if (key.subscriber_slot == subscriber_slot) stale.push_back(key);
    });
    for (const auto& key : stale) {
        liteipc_proc_ctl ctl{};
        ctl.op = LITEIPC_PROC_DROP_SUB;
        ctl.slot = key.subscriber_slot;
        ctl.target_slot = key.target_slot;
        (void)run_proc_ctl(ctl);
    }
}

Result<> KernelPlane::watch_deaths(std::function<void(const liteipc_death_record&)> on_death) {
    auto ring = detail::RingBuffer::open_records<liteipc_death_record>(bpf_map__fd(skel_->maps.deaths),
                                                                       std::move(on_death), "the deaths ring");
    if (!ring) return std::unexpected(ring.error());
    deaths_ = std::move(*ring);
    return {};
}

Result<> KernelPlane::watch_monitor(std::function<void(const liteipc_monitor_record&)> on_record) {
    auto ring = detail::RingBuffer::open_records<liteipc_monitor_record>(bpf_map__fd(skel_->maps.monitor),
                                                                         std::move(on_record), "the monitor ring");
    if (!ring) return std::unexpected(ring.error());
    monitor_ = std::move(*ring);
    return {};
}

int KernelPlane::monitor_epoll_fd() const { return monitor_.epoll_fd(); }

void KernelPlane::consume_monitor() {
    if (auto consumed = monitor_.consume(); !consumed)
        LITEIPC_LOG(warn, "%s", consumed.error().describe().c_str());
}

int KernelPlane::deaths_epoll_fd() const { return deaths_.epoll_fd(); }

Result<int> KernelPlane::consume_deaths() {
    return deaths_.consume();
}

}  // namespace liteipc::loader
