// What the data-plane system tests share: a service with a handler of the test's own in a child
// process, replies whose every byte says which call wrote it, and what a process holds (fds,
// mappings, RSS) read from /proc.
#pragma once

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "liteipc/ipc.h"
#include "loader_fixture.h"

namespace liteipc::testing {

// Byte `index` of the reply to the call with `seed`: no two seeds agree on a run of bytes.
inline std::byte fill_byte(uint64_t seed, uint64_t index) {
    uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ULL ^ (index >> 3) * 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 29;
    return static_cast<std::byte>((x >> (8 * (index & 7))) & 0xff);
}

// The first index whose byte is not what the call with `seed` wrote, or -1 when all are.
inline int64_t first_wrong_byte(std::span<const std::byte> bytes, uint64_t seed) {
    for (uint64_t i = 0; i < bytes.size(); ++i)
        if (bytes[i] != fill_byte(seed, i)) return static_cast<int64_t>(i);
    return -1;
}

// Answers every call with its code.
inline int32_t answer_code(Call& call) {
    call.reply().write_uint32(call.code());
    return 0;
}

inline constexpr uint32_t kFilledReply = 40;  // request: uint64 size, uint64 seed; reply: a filled buffer

// Answers kFilledReply with a reply-pool buffer of the size asked, filled for the seed.
inline int32_t filled_reply_handler(Call& call) {
    if (call.code() != kFilledReply) return -1;
    const uint64_t size = call.request().read_uint64();
    const uint64_t seed = call.request().read_uint64();
    std::span<std::byte> out = call.reply().reserve_buffer(size);
    for (uint64_t i = 0; i < out.size(); ++i) out[i] = fill_byte(seed, i);
    return call.reply().ok() ? 0 : -12;
}

// A C++ service in a child process, serving `handler` until the test ends it.
class ForkedService {
public:
    // `rlimit_nofile` > 0 raises the child's fd limit (soft and hard) first.
    ForkedService(const ContextOptions& context_options, ServiceOptions options, CallHandler handler,
                  rlim_t rlimit_nofile = 0) {
        int ready[2];
        EXPECT_EQ(::pipe(ready), 0);
        std::fflush(nullptr);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            ::close(ready[0]);
            if (rlimit_nofile > 0) {
                rlimit limit{rlimit_nofile, rlimit_nofile};
                if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(99);
            }
            auto context = Context::open(context_options);
            if (!context) ::_exit(100);
            auto service = Service::start(*context, options, handler);
            if (!service) std::fprintf(stderr, "service: %s\n", service.error().describe().c_str());
            char ok = service ? 'y' : 'n';
            if (::write(ready[1], &ok, 1) != 1) ::_exit(101);
            for (;;) ::pause();
        }
        ::close(ready[1]);
        char ok = 0;
        EXPECT_EQ(::read(ready[0], &ok, 1), 1);
        EXPECT_EQ(ok, 'y');
        ::close(ready[0]);
    }
    ForkedService(const ForkedService&) = delete;
    ForkedService& operator=(const ForkedService&) = delete;
    ~ForkedService() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
};

// What a process holds, from /proc.
struct Holdings {
    long fds = 0;
    long mappings = 0;
    long rss_kib = 0;
    std::vector<std::string> maps;  // the lines of /proc/PID/maps, to say what changed
};

// The mappings in `after` that are not in `before`, one per line.
inline std::string new_mappings(const Holdings& before, const Holdings& after) {
    std::string text;
    for (const auto& line : after.maps)
        if (std::find(before.maps.begin(), before.maps.end(), line) == before.maps.end()) text += line + "\n";
    return text;
}

inline Holdings holdings_of(pid_t pid) {
    Holdings held;
    const std::string proc = "/proc/" + std::to_string(pid);
    if (DIR* dir = ::opendir((proc + "/fd").c_str())) {
        while (dirent* entry = ::readdir(dir))
            if (entry->d_name[0] != '.') ++held.fds;
        ::closedir(dir);
    }
    std::ifstream maps(proc + "/maps");
    for (std::string line; std::getline(maps, line);) {
        ++held.mappings;
        held.maps.push_back(line);
    }
    std::ifstream status(proc + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0) held.rss_kib = std::stol(line.substr(6));
    return held;
}

}  // namespace liteipc::testing
