// liteipc-loader's configuration: per-uid quotas, the channel setup deadline, and who may own
// which service names. Read at start and again on SIGHUP; a file that fails to parse leaves the
// previous configuration in force.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "liteipc/error.h"

namespace liteipc::loader {

inline constexpr const char* kDefaultConfigPath = "/etc/liteipc/loader.conf";

// Per uid; 0 means no limit. Root (uid 0) is trusted and never counted against.
struct Quotas {
    uint64_t processes = 256;         // registered processes
    uint64_t sockets = 1024;          // control sockets open to the loader
    uint64_t services = 256;          // registered service names
    uint64_t connections = 8192;      // entries in conns (pending and open), enforced in BPF
    uint64_t pending_channels = 256;  // connection halves waiting for the other half
    uint64_t grants = 8192;           // pid and uid grants given by the uid's processes
    uint64_t subscriptions = 16384;   // death subscriptions, enforced in BPF
};

// Slots of the global tables only root (the system's own processes) may take: whatever many uids
// do together, each under its quota, they hold at most the table's size minus its reserve.
struct Reserves {
    uint64_t processes = 256;     // of LITEIPC_MAX_PROCS (4096)
    uint64_t services = 256;      // of LITEIPC_MAX_SERVICES (4096)
    uint64_t connections = 4096;  // of LITEIPC_MAX_CONNS (65536), enforced in BPF
    uint64_t grants = 4096;       // of LITEIPC_MAX_GRANTS (65536)
    uint64_t subscriptions = 4096;  // of LITEIPC_MAX_SUBS (65536), enforced in BPF
    uint64_t sockets = 64;        // of the control sockets the loader serves (max_sockets)
};

// One `own` line: a name (or a prefix ending in '*') and who may own it.
struct OwnRule {
    std::string pattern;  // "org.example.audio" or "org.example.*"
    enum class Who { anyone, nobody, uid, gid } who = Who::anyone;
    uint32_t id = 0;  // uid or gid

    bool matches(std::string_view name) const;
    // "anyone", "nobody", "uid:N" or "gid:N", as the status document shows it.
    std::string owner() const;
};

// The prefix liteipc-bridge registers its imported names under, and the user the shipped policy
// reserves it for: a name a component relies on is not free for every member.
inline constexpr const char* kBridgePrefix = "remote.";
inline constexpr const char* kBridgeUser = "liteipc-bridge";

struct NamePolicy {
    std::vector<OwnRule> rules;
    // Names no rule matches: nobody (the default, as dbus-broker's system bus) or anyone.
    bool unlisted_anyone = false;

    // A name some rule matches may be owned by whom one of its matching rules admits; root may
    // own any name. `groups` are the process's gid and supplementary groups.
    bool may_own(std::string_view name, uid_t uid, const std::vector<gid_t>& groups) const;
};

struct LoaderConfig {
    Quotas quotas;
    Reserves reserves;
    NamePolicy names;
    std::chrono::milliseconds channel_setup_timeout{5000};  // a half waits at most this long
    std::size_t max_queued_replies = 256;  // per client; a client that lets more pile up is dropped
    uint64_t max_sockets = 0;  // control sockets served at once; 0: as many as the fd limit leaves room for

    // A missing file at the default path is not an error: the built-in config applies, which is
    // what packaging/loader.conf says (remote.* reserved for liteipc-bridge, unlisted names nobody's).
    static Result<LoaderConfig> load(const std::string& path, bool must_exist);
    static LoaderConfig built_in();
    static Result<LoaderConfig> parse(std::string_view text, const std::string& origin);
};

}  // namespace liteipc::loader
