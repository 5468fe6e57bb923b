#include "peer_process.h"

#include <poll.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace liteipc::loader {

Result<UniqueFd> peer_pidfd(int socket) {
    int pidfd = -1;
    socklen_t len = sizeof pidfd;
    if (::getsockopt(socket, SOL_SOCKET, kSoPeerPidfd, &pidfd, &len) != 0)
        return fail_errno("SO_PEERPIDFD (the peer has gone, or the kernel is older than 6.5)");
    return UniqueFd(pidfd);
}

bool process_exited(int pidfd) {
    pollfd pfd{pidfd, POLLIN, 0};
    int ready;
    do ready = ::poll(&pfd, 1, 0);
    while (ready < 0 && errno == EINTR);
    return ready != 0;  // readable, or an error: either way not a process to trust
}

std::optional<pid_t> host_pid_of(int pidfd) {
    std::string path = "/proc/self/fdinfo/" + std::to_string(pidfd);
    FILE* info = std::fopen(path.c_str(), "re");
    if (!info) return std::nullopt;
    char line[256];
    std::optional<pid_t> pid;
    while (std::fgets(line, sizeof line, info)) {
        long value = 0;
        if (std::sscanf(line, "Pid: %ld", &value) == 1) {
            if (value > 0) pid = static_cast<pid_t>(value);
            break;
        }
    }
    std::fclose(info);
    return pid;
}

std::optional<uint64_t> start_time_of(pid_t host_pid) {
    std::string path = "/proc/" + std::to_string(host_pid) + "/stat";
    FILE* stat = std::fopen(path.c_str(), "re");
    if (!stat) return std::nullopt;
    char buffer[1024];
    std::size_t n = std::fread(buffer, 1, sizeof buffer - 1, stat);
    std::fclose(stat);
    buffer[n] = '\0';
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const char* after = std::strrchr(buffer, ')');
    if (!after) return std::nullopt;
    unsigned long long start = 0;
    // state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
    // cutime cstime priority nice num_threads itrealvalue starttime
    if (std::sscanf(after + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                    &start) != 1)
        return std::nullopt;
    return start;
}

std::vector<gid_t> groups_of(pid_t host_pid, gid_t gid) {
    std::vector<gid_t> groups{gid};
    std::string path = "/proc/" + std::to_string(host_pid) + "/status";
    FILE* status = std::fopen(path.c_str(), "re");
    if (!status) return groups;
    char line[4096];
    while (std::fgets(line, sizeof line, status)) {
        if (std::strncmp(line, "Groups:", 7) != 0) continue;
        char* cursor = line + 7;
        for (;;) {
            char* end = nullptr;
            unsigned long g = std::strtoul(cursor, &end, 10);
            if (end == cursor) break;
            groups.push_back(static_cast<gid_t>(g));
            cursor = end;
        }
        break;
    }
    std::fclose(status);
    return groups;
}

}  // namespace liteipc::loader
