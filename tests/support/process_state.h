// What a process holds, read from /proc: liteipc mappings, open fds, memory. Tests compare these
// before and after to show that what was taken came back.
#pragma once

#include <dirent.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace liteipc::testing {

// Mappings of liteipc memfds (pools and ctrl regions) in `pid` (0: this process).
inline int liteipc_mapping_count(pid_t pid = 0) {
    std::ifstream maps(pid == 0 ? std::string("/proc/self/maps") : "/proc/" + std::to_string(pid) + "/maps");
    std::string line;
    int count = 0;
    while (std::getline(maps, line))
        if (line.find("memfd:liteipc-") != std::string::npos) ++count;
    return count;
}

// Open fds of `pid` (0: this process); -1 when it cannot be read.
inline int open_fd_count(pid_t pid = 0) {
    std::string path = pid == 0 ? std::string("/proc/self/fd") : "/proc/" + std::to_string(pid) + "/fd";
    DIR* dir = ::opendir(path.c_str());
    if (!dir) return -1;
    int count = 0;
    while (dirent* entry = ::readdir(dir))
        if (entry->d_name[0] != '.') ++count;
    ::closedir(dir);
    return count - (pid == 0 ? 1 : 0);  // not the fd reading the directory
}

// A numeric field of a /proc status file (VmRSS, voluntary_ctxt_switches, ...); -1 when missing.
inline long status_field(const std::string& path, const char* field) {
    std::ifstream in(path);
    std::string line;
    std::string prefix = std::string(field) + ":";
    while (std::getline(in, line))
        if (line.rfind(prefix, 0) == 0) return std::stol(line.substr(prefix.size()));
    return -1;
}

// A field of /proc/<pid>/status in kB (VmRSS, VmHWM, ...); -1 when missing.
inline long status_kb(pid_t pid, const char* field) {
    return status_field("/proc/" + std::to_string(pid) + "/status", field);
}

// How many times the threads of `pid` went to sleep: their voluntary context switches, summed.
// The state letter of /proc/<pid>/stat ('R', 'S', 'T' stopped, 'Z'...), '-' when the process is gone.
inline char process_state_letter(pid_t pid) {
    FILE* stat = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
    if (!stat) return '-';
    char line[512] = {};
    const bool read = std::fgets(line, sizeof line, stat) != nullptr;
    std::fclose(stat);
    const char* after_name = read ? std::strrchr(line, ')') : nullptr;  // the name may hold spaces
    return after_name && after_name[1] == ' ' ? after_name[2] : '-';
}

inline long thread_sleeps(pid_t pid) {
    const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
    DIR* dir = ::opendir(tasks.c_str());
    if (!dir) return -1;
    long total = 0;
    while (dirent* entry = ::readdir(dir))
        if (entry->d_name[0] != '.')
            total += std::max(0L, status_field(tasks + "/" + entry->d_name + "/status", "voluntary_ctxt_switches"));
    ::closedir(dir);
    return total;
}

// Whether `bytes` appear in any readable liteipc memfd this process maps.
inline bool mapped_liteipc_memory_contains(const std::vector<std::byte>& bytes) {
    FILE* maps = std::fopen("/proc/self/maps", "r");
    if (!maps) return false;
    char line[512];
    bool found = false;
    while (!found && std::fgets(line, sizeof line, maps)) {
        if (!std::strstr(line, "memfd:liteipc-")) continue;
        unsigned long begin = 0, end = 0;
        char perms[8] = {};
        if (std::sscanf(line, "%lx-%lx %7s", &begin, &end, perms) != 3 || perms[0] != 'r') continue;
        found = ::memmem(reinterpret_cast<const void*>(begin), end - begin, bytes.data(), bytes.size()) != nullptr;
    }
    std::fclose(maps);
    return found;
}

inline std::string to_hex(const std::vector<std::byte>& bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (std::byte b : bytes) {
        out += digits[static_cast<unsigned>(b) >> 4];
        out += digits[static_cast<unsigned>(b) & 15];
    }
    return out;
}
inline std::vector<std::byte> from_hex(const std::string& text) {
    std::vector<std::byte> out;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2)
        out.push_back(static_cast<std::byte>(std::stoul(text.substr(i, 2), nullptr, 16)));
    return out;
}

}  // namespace liteipc::testing
