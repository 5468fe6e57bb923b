// liteipc-demo: what a service author sees first. A service runs in its own process; this process
// connects through the kernel, calls it, passes a zero-copy buffer and an fd, then kills it and
// watches the kernel report the death and fail the call that was pending on it.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "liteipc/ipc.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

enum : uint32_t { kHello = 1, kSum = 2, kWrite = 3, kSlow = 4 };

int32_t serve(liteipc::Call& call) {
    switch (call.code()) {
        case kHello: {
            auto name = call.request().read_string_view();
            std::string greeting = "hello, " + std::string(name);
            call.reply().write_string(greeting);
            // What the kernel says about the caller, not what the caller says about itself.
            call.reply().write_uint32(call.caller().pid);
            call.reply().write_uint32(call.caller().uid);
            return 0;
        }
        case kSum: {
            // The buffer is read where the client wrote it: its pool, mapped read-only here.
            uint64_t sum = 0;
            for (std::byte b : call.request().read_buffer()) sum += static_cast<uint8_t>(b);
            call.reply().write_uint64(sum);
            return 0;
        }
        case kWrite: {
            int fd = call.request().take_fd();
            const char line[] = "written by the service through a passed fd\n";
            bool ok = fd >= 0 && ::write(fd, line, sizeof line - 1) == sizeof line - 1;
            if (fd >= 0) ::close(fd);
            return ok ? 0 : -1;
        }
        case kSlow:
            std::this_thread::sleep_for(10s);
            return 0;
    }
    return -1;
}

[[noreturn]] void run_service(int ready_fd) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    auto context = liteipc::Context::open();
    if (!context) ::_exit(1);
    auto service = liteipc::Service::start(*context, {.name = "demo.greeter", .workers = 2}, serve);
    if (!service) {
        std::fprintf(stderr, "demo service: %s\n", service.error().describe().c_str());
        ::_exit(1);
    }
    char ok = 'y';
    if (::write(ready_fd, &ok, 1) != 1) ::_exit(1);
    for (;;) ::pause();
}

int fail(const char* what, const liteipc::Error& error) {
    std::fprintf(stderr, "demo: %s: %s\n", what, error.describe().c_str());
    return 1;
}

}  // namespace

int main() {
    int ready[2];
    if (::pipe(ready) != 0) return 1;
    std::fflush(nullptr);
    pid_t service_pid = ::fork();
    if (service_pid == 0) run_service(ready[1]);
    char ok = 0;
    if (::read(ready[0], &ok, 1) != 1 || ok != 'y') {
        std::fprintf(stderr, "demo: the service did not start (is liteipc-loader running?)\n");
        return 1;
    }

    auto context = liteipc::Context::open();
    if (!context) return fail("open", context.error());
    std::printf("demo: this process is pid %u, slot %u in the kernel's process table\n", context->self().pid,
                context->self().slot);

    auto greeter = liteipc::Connection::open(*context, "demo.greeter");
    if (!greeter) return fail("connect", greeter.error());
    std::printf("demo: connected to 'demo.greeter' (handle %u, service pid %u) through the kernel's connect check\n",
                greeter->handle(), greeter->service().pid);

    {
        liteipc::Request request(*greeter);
        request.writer().write_string("liteipc");
        auto started = Clock::now();
        auto reply = greeter->call(kHello, request);
        auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
        if (!reply) return fail("call", reply.error());
        liteipc::Reader reader = reply->reader();
        std::string greeting(reader.read_string_view());
        uint32_t pid = reader.read_uint32(), uid = reader.read_uint32();
        std::printf("demo: reply \"%s\" in %lld us; the service saw caller pid %u uid %u (kernel-verified)\n",
                    greeting.c_str(), static_cast<long long>(took), pid, uid);
    }
    {
        constexpr size_t kSize = 1u << 20;
        liteipc::Request request(*greeter);
        std::span<std::byte> buffer = request.writer().reserve_buffer(kSize);  // in the shared pool
        uint64_t expected = 0;
        for (size_t i = 0; i < buffer.size(); ++i) {
            buffer[i] = static_cast<std::byte>(i % 251);
            expected += i % 251;
        }
        auto reply = greeter->call(kSum, request);
        if (!reply) return fail("zero-copy call", reply.error());
        uint64_t sum = reply->reader().read_uint64();
        std::printf("demo: 1 MiB written once into the pool and summed in place by the service: %s\n",
                    sum == expected ? "sums match" : "SUMS DIFFER");
    }
    {
        int pipe_fds[2];
        if (::pipe(pipe_fds) != 0) return 1;
        liteipc::Request request(*greeter);
        request.writer().write_fd(pipe_fds[1]);
        auto reply = greeter->call(kWrite, request);
        ::close(pipe_fds[1]);
        if (!reply) return fail("fd call", reply.error());
        char line[128] = {};
        ssize_t n = ::read(pipe_fds[0], line, sizeof line - 1);
        ::close(pipe_fds[0]);
        std::printf("demo: fd passed; read back: %.*s", static_cast<int>(n > 0 ? n : 0), line);
    }

    // The death: a call is pending when the service is killed.
    std::mutex mutex;
    std::condition_variable changed;
    bool told = false;
    Clock::time_point told_at;
    liteipc::DeathNotice notice{};
    auto watch = context->on_death(greeter->service(), [&](const liteipc::DeathNotice& n) {
        std::lock_guard lock(mutex);
        notice = n;
        told = true;
        told_at = Clock::now();
        changed.notify_all();
    });
    if (!watch) return fail("death subscription", watch.error());
    liteipc::Result<liteipc::Reply> pending = std::unexpected(liteipc::Error{liteipc::Errc::closed, 0, ""});
    Clock::time_point failed_at;
    std::thread caller([&] {
        liteipc::Request request(*greeter);
        pending = greeter->call(kSlow, request, 30s);
        failed_at = Clock::now();
    });
    std::this_thread::sleep_for(100ms);
    auto killed_at = Clock::now();
    ::kill(service_pid, SIGKILL);
    caller.join();
    ::waitpid(service_pid, nullptr, 0);
    std::unique_lock lock(mutex);
    if (!changed.wait_for(lock, 5s, [&] { return told; })) {
        std::fprintf(stderr, "demo: no death notice within 5 s\n");
        return 1;
    }
    auto us = [&](Clock::time_point t) {
        return static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(t - killed_at).count());
    };
    std::printf("demo: killed the service with SIGKILL; the pending call ended with '%s' after %lld us "
                "(its timeout was 30 s)\n",
                pending ? "a reply?!" : std::string(liteipc::to_string(pending.error().code)).c_str(), us(failed_at));
    std::printf("demo: the kernel reported the death of pid %u (signal %d) to this process after %lld us\n",
                notice.peer.pid, WIFSIGNALED(notice.exit_status) ? WTERMSIG(notice.exit_status) : 0, us(told_at));
    auto again = liteipc::Connection::open(*context, "demo.greeter");
    std::printf("demo: connecting again: %s\n", again ? "connected?!" : again.error().describe().c_str());
    return pending ? 1 : 0;
}
