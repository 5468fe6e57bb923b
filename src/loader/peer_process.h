// What the kernel says about the process at the other end of a control socket: a pidfd that
// names that very process (never a later one of the same pid), whether it still runs, its pid
// as BPF sees it, its start time and its groups.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "liteipc/error.h"
#include "common/mapping.h"

namespace liteipc::loader {

using detail::UniqueFd;

// SO_PEERPIDFD: Debian 12's headers lack the name; the value is the kernel's.
inline constexpr int kSoPeerPidfd = 77;

// The pidfd of the process that connected `socket`; an error when it has already gone.
Result<UniqueFd> peer_pidfd(int socket);

// A pidfd polls readable once its process has exited.
bool process_exited(int pidfd);

// The pid in the pid namespace of the /proc the loader reads, which is the one BPF helpers report
// when that /proc is the host's (the loader may itself run in a child pid namespace).
std::optional<pid_t> host_pid_of(int pidfd);

// Field 22 of /proc/PID/stat, clock ticks after boot: two processes that held the same pid differ.
std::optional<uint64_t> start_time_of(pid_t host_pid);

// The process's gid and supplementary groups (for the name policy).
std::vector<gid_t> groups_of(pid_t host_pid, gid_t gid);

}  // namespace liteipc::loader
