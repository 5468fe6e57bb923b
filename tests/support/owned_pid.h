// The one way tests and benches own a process: an OwnedPid, SIGKILLed and reaped when it goes.
// It comes from fork_child (a thread-free forked child running a body) or spawn_program (an
// exec'd program: a test peer's role, the loader, a C peer, an upstream case). Every wait on it
// has a deadline or says that it blocks.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace liteipc::testing {

class OwnedPid {
public:
    OwnedPid() = default;  // no process
    explicit OwnedPid(pid_t pid) : pid_(pid > 0 ? pid : -1) {}
    OwnedPid(OwnedPid&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
    OwnedPid& operator=(OwnedPid&& other) noexcept {
        if (this != &other) {
            kill_and_wait();
            pid_ = std::exchange(other.pid_, -1);
        }
        return *this;
    }
    ~OwnedPid() { kill_and_wait(); }

    pid_t pid() const { return pid_; }
    explicit operator bool() const { return pid_ > 0; }

    void signal(int sig) const {
        if (pid_ > 0) ::kill(pid_, sig);
    }
    // Blocks until it ends and reaps it: its wait status, -1 when there is none to reap.
    int wait() {
        if (pid_ <= 0) return -1;
        int status = -1;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
        pid_ = -1;
        return status;
    }
    // Reaps it if it ends within `timeout`: its wait status; nothing (still running) otherwise.
    std::optional<int> wait_for(std::chrono::milliseconds timeout) {
        if (pid_ <= 0) return -1;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            int status = 0;
            const pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
            if (reaped == pid_) {
                pid_ = -1;
                return status;
            }
            if (reaped < 0 && errno != EINTR) {  // not ours to reap (any more)
                pid_ = -1;
                return -1;
            }
            if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    // Waits at most `timeout`, then SIGKILLs it: its wait status either way.
    int wait_or_kill(std::chrono::milliseconds timeout) {
        if (auto status = wait_for(timeout)) return *status;
        return kill_and_wait();
    }
    int kill_and_wait() {
        signal(SIGKILL);
        return wait();
    }
    // Gives the process up unreaped (an orphan-to-be's pid, for its own parent to leave behind).
    pid_t release() { return std::exchange(pid_, -1); }
    // Whether it has not ended yet (an ended one is reaped here).
    bool running() { return pid_ > 0 && !wait_for(std::chrono::milliseconds(0)); }

private:
    pid_t pid_ = -1;
};

// The exit code of a wait status, or 128 + the signal that ended it (-1: no status).
inline int exit_code(int status) {
    if (status < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

// Forks a child that runs `body()` and exits with what it returns; it gets `parent_death_signal`
// (0: none) should the forking thread end first. Only for bodies that start no thread: a child
// forked from a threaded process must not, and ThreadSanitizer aborts one that does. Peers with
// threads are spawned roles (peer.h).
template <typename Body>
OwnedPid fork_child(Body&& body, int parent_death_signal = SIGKILL) {
    std::fflush(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (parent_death_signal != 0) {
            ::prctl(PR_SET_PDEATHSIG, parent_death_signal);
            if (::getppid() != parent) ::_exit(126);
        }
        ::_exit(body());
    }
    return OwnedPid(pid);
}

// A forked child inherits this process's liteipc pool mappings; a real peer would not have them.
inline void unmap_inherited_pools() {
    FILE* maps = std::fopen("/proc/self/maps", "r");
    if (!maps) return;
    char line[512];
    std::vector<std::pair<unsigned long, unsigned long>> ranges;
    while (std::fgets(line, sizeof line, maps)) {
        unsigned long begin = 0, end = 0;
        if (std::strstr(line, "memfd:liteipc-") && std::sscanf(line, "%lx-%lx", &begin, &end) == 2)
            ranges.emplace_back(begin, end);
    }
    std::fclose(maps);
    for (auto [begin, end] : ranges) ::munmap(reinterpret_cast<void*>(begin), end - begin);
}

// A grandchild running `body()` whose parent exits at once: an orphan, adopted by the nearest
// subreaper (this process when it is one, else init); it gets no signal when its parent ends.
// True once its parent has exited cleanly.
template <typename Body>
bool fork_orphan(Body&& body) {
    OwnedPid parent = fork_child([&] {
        return fork_child(body, 0).release() > 0 ? 0 : 1;
    });
    return exit_code(parent.wait()) == 0;
}

// How an exec'd program starts: where its output goes, which of the caller's fds it gets, and the
// signal it gets should the spawning thread end first.
struct ProgramStart {
    std::string stdout_path, stderr_path;   // appended to (one file when both name it); empty: inherited
    std::vector<std::pair<int, int>> fds;   // {caller's fd, the fd number the program sees}
    int parent_death_signal = SIGKILL;      // 0: the program outlives a spawner that dies
};

// In a child before exec: `path` (appended to) becomes fd `target`.
inline bool redirect(const char* path, int target) {
    const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    return fd >= 0 && ::dup2(fd, target) == target;
}

// Forks and execs argv[0] with argv (this process's environment). Everything the child needs is
// built before the fork, and the child only calls async-signal-safe functions until execv: safe
// from a threaded process. An empty OwnedPid when fork fails; exit status 127 when exec does.
inline OwnedPid spawn_program(std::vector<std::string> argv, const ProgramStart& start = {}) {
    std::vector<char*> args;
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    std::fflush(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
        // A process group of its own: when the shell that ran the test exits first, the kernel
        // sends SIGHUP and SIGCONT to the test's group, now orphaned, if a member is stopped; a
        // peer the test stopped (SIGSTOP) would die of it. This group keeps its parent in the test's.
        ::setpgid(0, 0);
        if (start.parent_death_signal != 0) {
            ::prctl(PR_SET_PDEATHSIG, start.parent_death_signal);
            if (::getppid() != parent) ::_exit(126);
        }
        if (!start.stdout_path.empty() && !redirect(start.stdout_path.c_str(), STDOUT_FILENO)) ::_exit(125);
        if (start.stderr_path == start.stdout_path && !start.stderr_path.empty()) ::dup2(STDOUT_FILENO, STDERR_FILENO);
        else if (!start.stderr_path.empty() && !redirect(start.stderr_path.c_str(), STDERR_FILENO)) ::_exit(125);
        // dup2 clears close-on-exec on the copy: only these fds reach the program.
        for (auto [from, to] : start.fds) {
            if (from == to) ::fcntl(from, F_SETFD, 0);
            else ::dup2(from, to);
        }
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    return OwnedPid(pid);
}

}  // namespace liteipc::testing
