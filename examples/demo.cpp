// liteipc-demo: what a service author sees first. Registers with liteipc-loader, starts a
// worker process, watches it through the kernel's process table, kills it, and prints the death
// notice the kernel delivered.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "liteipc/context.h"

using namespace std::chrono_literals;

int main() {
    auto context = liteipc::Context::open();
    if (!context) {
        std::fprintf(stderr, "demo: %s\n", context.error().describe().c_str());
        return 1;
    }
    liteipc::PeerId self = context->self();
    std::printf("demo: registered as pid %u, slot %u, generation %llu\n", self.pid, self.slot,
                static_cast<unsigned long long>(self.generation));

    int ready[2];
    if (::pipe(ready) != 0) return 1;
    std::fflush(nullptr);
    pid_t worker = ::fork();
    if (worker == 0) {
        auto own = liteipc::Context::open();
        if (!own) ::_exit(1);
        liteipc::PeerId id = own->self();
        if (::write(ready[1], &id, sizeof id) != sizeof id) ::_exit(1);
        for (;;) ::pause();
    }
    liteipc::PeerId peer{};
    if (::read(ready[0], &peer, sizeof peer) != sizeof peer) return 1;
    std::printf("demo: worker pid %u registered in slot %u; alive per the process table: %s\n", peer.pid, peer.slot,
                context->alive(peer) ? "yes" : "no");

    std::mutex mutex;
    std::condition_variable changed;
    bool dead = false;
    liteipc::DeathNotice notice{};
    auto subscription = context->on_death(peer, [&](const liteipc::DeathNotice& n) {
        std::lock_guard lock(mutex);
        notice = n;
        dead = true;
        changed.notify_all();
    });
    if (!subscription) {
        std::fprintf(stderr, "demo: %s\n", subscription.error().describe().c_str());
        return 1;
    }

    auto killed_at = std::chrono::steady_clock::now();
    ::kill(worker, SIGKILL);
    std::unique_lock lock(mutex);
    bool heard = changed.wait_for(lock, 5s, [&] { return dead; });
    auto heard_after = std::chrono::steady_clock::now() - killed_at;
    ::waitpid(worker, nullptr, 0);
    if (!heard) {
        std::fprintf(stderr, "demo: no death notice within 5 s\n");
        return 1;
    }
    std::printf("demo: kernel reported the death of pid %u (%s %d) %lld us after kill(SIGKILL); alive now: %s\n",
                notice.peer.pid, WIFSIGNALED(notice.exit_status) ? "signal" : "exit status",
                WIFSIGNALED(notice.exit_status) ? WTERMSIG(notice.exit_status) : WEXITSTATUS(notice.exit_status),
                static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(heard_after).count()),
                context->alive(peer) ? "yes" : "no");
    return 0;
}
