// liteipc-demo: what a service author sees first. A service of IGreeter.idl runs in its own
// process; this process connects through the kernel, calls it, passes a zero-copy buffer and an
// fd, then kills it and watches the kernel report the death and fail the call that was pending on
// it. Both halves are generated from the .idl (igreeter.h): the service implements GreeterStub,
// the client calls GreeterProxy.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "igreeter.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

class Greeter final : public demo::GreeterStub {
public:
    liteipc::Result<std::string> Hello(const std::string& name, int32_t& caller_pid, int32_t& caller_uid) override {
        // What the kernel says about the caller, not what the caller says about itself.
        const liteipc::Caller& caller = liteipc::idl::current_call()->caller();
        caller_pid = static_cast<int32_t>(caller.pid);
        caller_uid = static_cast<int32_t>(caller.uid);
        return "hello, " + name;
    }
    liteipc::Result<int64_t> Sum(liteipc::idl::ByteView data) override {
        // The buffer is read where the client wrote it: its pool, mapped read-only here.
        int64_t sum = 0;
        for (uint8_t b : data) sum += b;
        return sum;
    }
    liteipc::Result<> Write(liteipc::idl::FileDescriptor fd) override {
        const char line[] = "written by the service through a passed fd\n";
        const bool ok = ::write(fd.fd, line, sizeof line - 1) == sizeof line - 1;
        ::close(fd.fd);  // a received fd is the receiver's
        if (!ok) return liteipc::fail_errno("write to the passed fd");
        return {};
    }
    liteipc::Result<> Slow() override {
        std::this_thread::sleep_for(10s);
        return {};
    }
};

[[noreturn]] void run_service(int ready_fd) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    auto context = liteipc::Context::open();
    if (!context) ::_exit(1);
    static Greeter greeter;
    auto service = greeter.serve(*context, {.name = "demo.greeter", .workers = 2});
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

    auto proxy = demo::GreeterProxy::open(*context, "demo.greeter");
    if (!proxy) return fail("connect", proxy.error());
    demo::GreeterProxy& greeter = *proxy;
    std::printf("demo: connected to 'demo.greeter' (handle %u, service pid %u) through the kernel's connect check\n",
                greeter.connection().handle(), greeter.connection().service().pid);

    {
        int32_t pid = 0, uid = 0;
        auto started = Clock::now();
        auto greeting = greeter.Hello("liteipc", pid, uid);
        auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
        if (!greeting) return fail("call", greeting.error());
        std::printf("demo: reply \"%s\" in %lld us; the service saw caller pid %d uid %d (kernel-verified)\n",
                    greeting->c_str(), static_cast<long long>(took), pid, uid);
    }
    {
        // 1 MiB filled where it travels, in the shared pool. Sum(bytes) would copy a span there
        // once; the request is written in place instead, under the generated code, and the
        // generated stub reads it in place all the same.
        constexpr size_t kSize = 1u << 20;
        liteipc::Request request(greeter.connection());
        std::span<std::byte> buffer = request.writer().reserve_buffer(kSize);
        uint64_t expected = 0;
        for (size_t i = 0; i < buffer.size(); ++i) {
            buffer[i] = static_cast<std::byte>(i % 251);
            expected += i % 251;
        }
        auto reply = greeter.connection().call(static_cast<uint32_t>(demo::IGreeter::Code::Sum), request);
        if (!reply) return fail("zero-copy call", reply.error());
        const auto sum = liteipc::idl::read_reply<int64_t>(std::move(reply), "Sum");
        if (!sum) return fail("zero-copy call", sum.error());
        std::printf("demo: 1 MiB written once into the pool and summed in place by the service: %s\n",
                    static_cast<uint64_t>(*sum) == expected ? "sums match" : "SUMS DIFFER");
    }
    {
        int pipe_fds[2];
        if (::pipe(pipe_fds) != 0) return 1;
        auto written = greeter.Write(liteipc::idl::FileDescriptor{pipe_fds[1]});
        ::close(pipe_fds[1]);
        if (!written) return fail("fd call", written.error());
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
    auto watch = context->on_death(greeter.connection().service(), [&](const liteipc::DeathNotice& n) {
        std::lock_guard lock(mutex);
        notice = n;
        told = true;
        told_at = Clock::now();
        changed.notify_all();
    });
    if (!watch) return fail("death subscription", watch.error());
    liteipc::Result<> pending = std::unexpected(liteipc::Error{liteipc::Errc::closed, 0, ""});
    Clock::time_point failed_at;
    greeter.set_timeout(30s);
    std::thread caller([&] {
        pending = greeter.Slow();
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
