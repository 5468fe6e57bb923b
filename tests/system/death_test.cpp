// Kernel-observed death: every way a registered process can end yields exactly one record, with
// the right pid and wait status, to each subscriber; unregistered processes yield none.
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <vector>

#include "test_processes.h"

namespace liteipc::testing {
namespace {

// A peer process that registers, reports its PeerId, waits for the go, then ends as asked.
class Child {
public:
    Child(const ContextOptions& options, Ending ending, bool register_it = true)
        : peer_(Peer::spawn("member", peer_args(options, register_it ? 1 : 0, static_cast<int>(ending)))) {
        EXPECT_TRUE(peer_.read(peer_id_)) << "the member peer reported nothing";
        pid_ = peer_.pid();
    }

    void go() { ASSERT_TRUE(peer_.send('g')); }
    int wait() { return peer_.wait(); }
    pid_t pid() const { return pid_; }
    PeerId peer() const { return peer_id_; }

private:
    Peer peer_;
    pid_t pid_ = -1;  // kept after the peer is reaped
    PeerId peer_id_{};
};

class DeathTest : public ::testing::TestWithParam<Ending> {
protected:
    void SetUp() override {
        LITEIPC_REQUIRE_SYSTEM();
        ASSERT_TRUE(loader_.start());
    }
    Loader loader_{"death"};
};

TEST_P(DeathTest, EveryEndingYieldsExactlyOneRecordPerSubscriber) {
    // Three subscribers: this process twice through one context, and a second context's worth
    // of callbacks, all must hear of the death once each.
    auto watcher = Context::open(loader_.options());
    ASSERT_TRUE(watcher) << watcher.error().describe();
    Child child(loader_.options(), GetParam());
    ASSERT_NE(child.peer().generation, 0u);
    EXPECT_EQ(child.peer().pid, static_cast<uint32_t>(child.pid()));
    EXPECT_TRUE(watcher->alive(child.peer()));

    NoticeBox first, second;
    auto sub1 = watcher->on_death(child.peer(), first.callback());
    auto sub2 = watcher->on_death(child.peer(), second.callback());
    ASSERT_TRUE(sub1 && sub2);

    child.go();
    if (GetParam() == Ending::sigkill) ::kill(child.pid(), SIGKILL);
    int status = child.wait();

    ASSERT_TRUE(first.wait_for(1, 5s)) << "no death notice";
    ASSERT_TRUE(second.wait_for(1, 5s)) << "no death notice for the second subscriber";
    std::this_thread::sleep_for(300ms);  // room for a duplicate to show up
    ASSERT_EQ(first.size(), 1u);
    ASSERT_EQ(second.size(), 1u);
    const DeathNotice& notice = first.notices[0];
    EXPECT_EQ(notice.peer.pid, static_cast<uint32_t>(child.pid()));
    EXPECT_EQ(notice.peer.slot, child.peer().slot);
    EXPECT_FALSE(notice.closed);
    EXPECT_EQ(notice.exit_status, status) << "wait status from the kernel record differs from waitpid's";
    EXPECT_FALSE(watcher->alive(child.peer()));
}

INSTANTIATE_TEST_SUITE_P(Endings, DeathTest, kAllEndings,
                         [](const auto& info) { return std::string(ending_name(info.param)); });

class LoaderTest : public ::testing::Test {
protected:
    void SetUp() override { LITEIPC_REQUIRE_SYSTEM(); }
};


TEST_F(LoaderTest, SigkillIsObservedAfterALoaderRestart) {
    Loader loader("restart");
    ASSERT_TRUE(loader.start());
    auto watcher = Context::open(loader.options());
    ASSERT_TRUE(watcher);
    Child child(loader.options(), Ending::sigkill);
    NoticeBox box;
    auto sub = watcher->on_death(child.peer(), box.callback());
    ASSERT_TRUE(sub);

    loader.stop();
    ASSERT_TRUE(loader.start()) << "a restarted loader must adopt the pinned state";
    EXPECT_TRUE(watcher->alive(child.peer())) << "registration must survive the restart";

    ::kill(child.pid(), SIGKILL);
    child.wait();
    ASSERT_TRUE(box.wait_for(1, 5s));
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(box.size(), 1u);
    EXPECT_EQ(box.notices[0].exit_status, SIGKILL);
}

TEST_F(LoaderTest, DeathWhileNoLoaderRunsIsNotLost) {
    Loader loader("absent");
    ASSERT_TRUE(loader.start());
    auto watcher = Context::open(loader.options());
    ASSERT_TRUE(watcher);
    Child child(loader.options(), Ending::sigkill);
    NoticeBox box;
    auto sub = watcher->on_death(child.peer(), box.callback());
    ASSERT_TRUE(sub);

    loader.stop();
    ::kill(child.pid(), SIGKILL);
    child.wait();
    // The kernel plane delivers without the loader...
    ASSERT_TRUE(box.wait_for(1, 5s));
    // ...and a new loader reclaims the slot from the record left in the pinned ring.
    ASSERT_TRUE(loader.start());
    auto status = watcher->loader_status();
    ASSERT_TRUE(status) << status.error().describe();
    EXPECT_NE(status->find("\"processes_dead\":0"), std::string::npos) << *status;
    EXPECT_EQ(status->find("\"pid\":" + std::to_string(child.pid())), std::string::npos) << *status;
}

TEST_F(LoaderTest, UnregisteredProcessesYieldNoRecord) {
    Loader loader("unreg");
    ASSERT_TRUE(loader.start());
    auto watcher = Context::open(loader.options());
    ASSERT_TRUE(watcher);
    auto before = watcher->loader_status();
    ASSERT_TRUE(before);
    {
        Child child(loader.options(), Ending::sigkill, /*register_it=*/false);
        child.go();
        ::kill(child.pid(), SIGKILL);
        child.wait();
    }
    std::this_thread::sleep_for(200ms);
    auto after = watcher->loader_status();
    ASSERT_TRUE(after);
    auto deaths = [](const std::string& s) { return s.substr(s.find("\"deaths_seen\":"), 20); };
    EXPECT_EQ(deaths(*before), deaths(*after));
}

TEST_F(LoaderTest, OrderlyCloseNotifiesAsClosedAndFreesTheSlot) {
    Loader loader("close");
    ASSERT_TRUE(loader.start());
    auto watcher = Context::open(loader.options());
    ASSERT_TRUE(watcher);
    // A peer that closes its context and then lives on.
    Peer child = Peer::spawn("close_context_and_live", peer_args(loader.options()));
    PeerId peer{};
    ASSERT_TRUE(child.read(peer));
    NoticeBox box;
    auto sub = watcher->on_death(peer, box.callback());
    ASSERT_TRUE(sub);
    ASSERT_TRUE(child.send('g'));
    bool notified = box.wait_for(1, 5s);
    child.kill_and_wait();
    ASSERT_TRUE(notified);
    EXPECT_TRUE(box.notices[0].closed);
    EXPECT_FALSE(watcher->alive(peer));
}

TEST_F(LoaderTest, SubscribingToADeadPeerFiresAtOnce) {
    Loader loader("late");
    ASSERT_TRUE(loader.start());
    auto watcher = Context::open(loader.options());
    ASSERT_TRUE(watcher);
    Child child(loader.options(), Ending::sigkill);
    ::kill(child.pid(), SIGKILL);
    child.wait();
    std::this_thread::sleep_for(100ms);
    NoticeBox box;
    auto sub = watcher->on_death(child.peer(), box.callback());
    ASSERT_TRUE(sub);
    EXPECT_EQ(box.size(), 1u);
}

TEST_F(LoaderTest, SecondLoaderOnTheSamePinRootRefuses) {
    Loader loader("twice");
    ASSERT_TRUE(loader.start());
    std::string command = std::string(LITEIPC_LOADER_PATH) + " --foreground --pin-root " + loader.pin_root() +
                          " --socket " + loader.socket() + ".2 2>&1";
    FILE* out = ::popen(command.c_str(), "r");
    ASSERT_NE(out, nullptr);
    char line[512] = {};
    std::string text;
    while (std::fgets(line, sizeof line, out)) text += line;
    int status = ::pclose(out);
    EXPECT_NE(WEXITSTATUS(status), 0);
    EXPECT_NE(text.find("another liteipc-loader"), std::string::npos) << text;
}

TEST_F(LoaderTest, MissingLoaderIsANamedError) {
    ContextOptions options;
    options.socket_path = "/tmp/liteipc-no-loader-here.sock";
    options.pin_root = "/sys/fs/bpf/liteipc-no-loader-here";
    auto context = Context::open(options);
    ASSERT_FALSE(context);
    EXPECT_EQ(context.error().code, Errc::loader_unavailable);
    EXPECT_NE(context.error().message.find(options.socket_path), std::string::npos);
    EXPECT_NE(context.error().message.find("liteipc-loader"), std::string::npos);
}

}  // namespace
}  // namespace liteipc::testing
