// Hugepages a test's own processes hold, read from /proc.
//
// HugePages_Free in /proc/meminfo counts the whole host: another process taking or freeing
// hugepages while a test runs fails the test or hides a leak. What a test can leave behind is
// narrower, and /proc shows all of it per process:
//  - a hugetlb file (a memfd made with MFD_HUGETLB, as pools are; the file behind shared
//    MAP_HUGETLB memory; a file opened on a hugetlbfs mount) keeps its pages, faulted in or
//    reserved, for as long as an fd or a mapping of it lives: /proc/PID/fd and /proc/PID/smaps;
//  - private hugetlb memory lives only in its mapping: /proc/PID/smaps;
//  - a file on a hugetlbfs mount lives with no holder at all: those named liteipc* are counted
//    whoever holds them.
// The processes are this one and every process descended from it: the loader a fixture runs,
// peers, and their children. Not seen: a hugetlb fd in flight in a unix socket (sent, never
// received) shows in no process; only the socket holding it does, as an open fd.
#pragma once

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace liteipc::testing {

// Whether `path` (a /proc/PID/fd or map_files link too) is a file of hugetlbfs.
inline bool on_hugetlbfs(const std::string& path) {
    constexpr long kHugetlbfsMagic = 0x958458f6;  // HUGETLBFS_MAGIC, linux/magic.h
    struct statfs filesystem {};
    return ::statfs(path.c_str(), &filesystem) == 0 && static_cast<long>(filesystem.f_type) == kHugetlbfsMagic;
}

// This process and all its descendants, read from /proc/*/stat.
inline std::vector<pid_t> process_tree(pid_t root) {
    std::multimap<pid_t, pid_t> children;  // parent -> child
    if (DIR* proc = ::opendir("/proc")) {
        while (dirent* entry = ::readdir(proc)) {
            char* end = nullptr;
            const long pid = std::strtol(entry->d_name, &end, 10);
            if (pid <= 0 || *end != '\0') continue;
            std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
            std::string stat;
            std::getline(in, stat);
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            const auto comm_end = stat.rfind(')');
            char state = 0;
            int parent = 0;
            if (comm_end == std::string::npos || std::sscanf(stat.c_str() + comm_end + 1, " %c %d", &state, &parent) != 2)
                continue;
            children.emplace(parent, static_cast<pid_t>(pid));
        }
        ::closedir(proc);
    }
    std::vector<pid_t> tree{root};
    for (std::size_t i = 0; i < tree.size(); ++i)
        for (auto [it, end] = children.equal_range(tree[i]); it != end; ++it) tree.push_back(it->second);
    return tree;
}

// One hugetlb file, or one private hugetlb mapping, and who holds it.
struct HugetlbHold {
    std::string name;                  // as /proc shows it: "/memfd:liteipc-reply (deleted)"
    long pages = 0;                    // huge pages faulted in now (a file only reserved holds 0, and counts)
    std::vector<std::string> holders;  // "pid 812 (liteipc_test_pe) fd 7", "... mapping 7f3a...-7f3a..."
};

class HugetlbHoldings {
public:
    // What this process and its descendants hold. It makes this process a child subreaper from the
    // first call on: a process the test started stays in its tree when its parent exits first.
    static HugetlbHoldings of_this_process_tree() {
        ::prctl(PR_SET_CHILD_SUBREAPER, 1);
        return of_process_tree(::getpid());
    }

    // What `root` and its descendants hold.
    static HugetlbHoldings of_process_tree(pid_t root) {
        HugetlbHoldings holdings;
        for (pid_t pid : process_tree(root)) {
            holdings.add_fds(pid);
            holdings.add_mappings(pid);
        }
        holdings.add_files_on_hugetlbfs_mounts();
        return holdings;
    }

    long pages() const {
        long total = 0;
        for (const auto& [key, hold] : holds_) total += hold.pages;
        return total;
    }

    // What is held here and was not in `baseline`, one line each; empty when nothing.
    std::string beyond(const HugetlbHoldings& baseline) const {
        std::string text;
        for (const auto& [key, hold] : holds_) {
            if (baseline.holds_.contains(key)) continue;
            text += hold.name + ", " + std::to_string(hold.pages) + " huge pages, held by";
            for (const auto& holder : hold.holders) text += " [" + holder + "]";
            text += "\n";
        }
        return text;
    }

private:
    // A file: (device, inode, 0, 0). Private memory: (0, 0, pid, start). A process /proc would
    // not show: (0, 0, pid, 0), so that an unreadable process fails a check instead of passing it.
    using Key = std::tuple<dev_t, ino_t, pid_t, unsigned long>;

    static std::string who(pid_t pid) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
        std::string comm;
        std::getline(in, comm);
        return "pid " + std::to_string(pid) + " (" + comm + ")";
    }

    void add_file(const struct stat& file, const std::string& name, const std::string& holder) {
        HugetlbHold& hold = holds_[Key{file.st_dev, file.st_ino, 0, 0}];
        hold.name = name;
        hold.pages = file.st_blksize > 0 ? file.st_blocks * 512 / file.st_blksize : 0;
        hold.holders.push_back(holder);
    }

    void add_unreadable(pid_t pid, const std::string& what) {
        const int error = errno;
        if (error == ENOENT || error == ESRCH) return;  // it has ended: it holds nothing
        HugetlbHold& hold = holds_[Key{0, 0, pid, 0}];
        hold.name = "unreadable " + what + ": " + std::strerror(error);
        hold.holders.push_back(who(pid));
    }

    // Open fds on a hugetlbfs file (memfd or mount).
    void add_fds(pid_t pid) {
        const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
        DIR* fds = ::opendir(dir.c_str());
        if (!fds) return add_unreadable(pid, dir);
        while (dirent* entry = ::readdir(fds)) {
            if (entry->d_name[0] == '.') continue;
            const std::string path = dir + "/" + entry->d_name;
            struct stat file {};
            // The fd may close meanwhile: then it holds nothing.
            if (!on_hugetlbfs(path) || ::stat(path.c_str(), &file) != 0) continue;
            char target[512] = {};
            const ssize_t length = ::readlink(path.c_str(), target, sizeof target - 1);
            add_file(file, length > 0 ? std::string(target, static_cast<std::size_t>(length)) : path,
                     who(pid) + " fd " + entry->d_name);
        }
        ::closedir(fds);
    }

    // Mappings the kernel marks hugetlb ("ht" in VmFlags).
    void add_mappings(pid_t pid) {
        const std::string path = "/proc/" + std::to_string(pid) + "/smaps";
        std::ifstream smaps(path);
        if (!smaps) return add_unreadable(pid, path);
        std::string line, header;
        long hugetlb_kb = 0, page_kb = 0;
        while (std::getline(smaps, line)) {
            unsigned long begin = 0, end = 0;
            if (std::sscanf(line.c_str(), "%lx-%lx ", &begin, &end) == 2) {
                header = line;
                hugetlb_kb = page_kb = 0;
                continue;
            }
            long kb = 0;
            if (std::sscanf(line.c_str(), "Shared_Hugetlb: %ld", &kb) == 1 || std::sscanf(line.c_str(), "Private_Hugetlb: %ld", &kb) == 1)
                hugetlb_kb += kb;
            std::sscanf(line.c_str(), "KernelPageSize: %ld", &page_kb);
            if (line.rfind("VmFlags:", 0) == 0 && (line + " ").find(" ht ") != std::string::npos)
                add_mapping(pid, header, hugetlb_kb, page_kb);
        }
    }

    // `header`: "begin-end perms offset major:minor inode [path]".
    void add_mapping(pid_t pid, const std::string& header, long hugetlb_kb, long page_kb) {
        std::istringstream fields(header);
        std::string range, perms, offset, device, name;
        unsigned long inode = 0;
        fields >> range >> perms >> offset >> device >> inode;
        std::getline(fields >> std::ws, name);
        const std::string holder = who(pid) + " mapping " + range;
        const long mapped_pages = page_kb > 0 ? hugetlb_kb / page_kb : 0;
        struct stat file {};
        if (inode != 0 && ::stat(("/proc/" + std::to_string(pid) + "/map_files/" + range).c_str(), &file) == 0) {
            add_file(file, name, holder);
            // Pages a private mapping copied are its own, not the file's.
            if (perms.ends_with('p')) holds_[Key{file.st_dev, file.st_ino, 0, 0}].pages += mapped_pages;
            return;
        }
        HugetlbHold& hold = holds_[Key{0, 0, pid, std::stoul(range, nullptr, 16)}];
        hold.name = (name.empty() ? "private hugetlb memory" : name) + " " + perms;
        hold.pages = mapped_pages;
        hold.holders.push_back(holder);
    }

    // Files named liteipc* left on any hugetlbfs mount.
    void add_files_on_hugetlbfs_mounts() {
        std::ifstream mounts("/proc/self/mounts");
        std::string source, mount_point, type, rest;
        while (mounts >> source >> mount_point >> type && std::getline(mounts, rest)) {
            if (type != "hugetlbfs") continue;
            DIR* dir = ::opendir(mount_point.c_str());
            if (!dir) continue;
            while (dirent* entry = ::readdir(dir)) {
                const std::string path = mount_point + "/" + entry->d_name;
                struct stat file {};
                if (std::strncmp(entry->d_name, "liteipc", 7) == 0 && ::stat(path.c_str(), &file) == 0)
                    add_file(file, path, "the hugetlbfs mount " + mount_point);
            }
            ::closedir(dir);
        }
    }

    std::map<Key, HugetlbHold> holds_;
};

// Waits (bounded) until this process tree holds nothing `baseline` did not, and returns what it
// still holds beyond it: empty when nothing was left over. A process's fds and mappings go at its
// death, but this process's threads may drop a dead peer's pools a moment later.
inline std::string hugepages_left_over(const HugetlbHoldings& baseline,
                                       std::chrono::milliseconds patience = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    std::string beyond = HugetlbHoldings::of_this_process_tree().beyond(baseline);
    while (!beyond.empty() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        beyond = HugetlbHoldings::of_this_process_tree().beyond(baseline);
    }
    return beyond;
}

}  // namespace liteipc::testing
