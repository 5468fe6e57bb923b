// liteipc-loader as a program an administrator runs: in the foreground by default, in the
// background with --daemon (signals that work, a pidfile, its own pid on its lines), the command
// line over the environment, and every bad value or missing file a named error with a non-zero
// exit status.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "trust_support.h"

namespace liteipc::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string loader_command(const std::string& args) { return std::string(LITEIPC_LOADER_PATH) + " " + args + " 2>&1"; }

// Polls (bounded) until `done()`; true when it came.
template <typename Done>
bool eventually(Done done, std::chrono::milliseconds timeout = 10000ms) {
    for (auto deadline = Clock::now() + timeout; Clock::now() < deadline; std::this_thread::sleep_for(20ms))
        if (done()) return true;
    return done();
}

// Alive: a process not our child is reaped by whoever adopted it, so a zombie counts as gone.
bool process_exists(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    std::size_t state = stat.rfind(") ");
    return state != std::string::npos && stat[state + 2] != 'Z';
}

// The pin root, socket and pidfile of a loader started with --daemon; it is not our child, so it
// is stopped by its pid and watched through /proc.
class BackgroundLoader {
public:
    explicit BackgroundLoader(const std::string& tag)
        : pin_root_("/sys/fs/bpf/liteipc-test-" + tag + "-" + std::to_string(::getpid())),
          socket_("/tmp/liteipc-test-" + tag + "-" + std::to_string(::getpid()) + ".sock"),
          pidfile_("/tmp/liteipc-test-" + tag + "-" + std::to_string(::getpid()) + ".pid") {}
    ~BackgroundLoader() {
        if (pid_ > 0 && process_exists(pid_)) {
            ::kill(pid_, SIGKILL);
            eventually([&] { return !process_exists(pid_); });
        }
        ::unlink(pidfile_.c_str());
        ::unlink(socket_.c_str());
        run_command(loader_command("--unload --pin-root " + pin_root_));
    }

    // Runs `liteipc-loader --daemon ...`: its output and exit status (it returns once the loader serves).
    std::pair<std::string, int> start(const std::string& extra = {}) {
        auto result = run_command(loader_command("--daemon --pidfile " + pidfile_ + " --pin-root " + pin_root_ +
                                                 " --socket " + socket_ + " " + extra));
        std::ifstream in(pidfile_);
        in >> pid_;
        return result;
    }

    pid_t pid() const { return pid_; }
    const std::string& socket() const { return socket_; }
    const std::string& pidfile() const { return pidfile_; }
    bool answers() const {
        int fd = connect_raw(socket_);
        if (fd >= 0) ::close(fd);
        return fd >= 0;
    }
    std::string status() const {
        int fd = connect_raw(socket_);
        if (fd < 0) return {};
        RawReply reply = raw_request(fd, control_request(detail::ControlOp::status));
        ::close(fd);
        return reply.text;
    }

private:
    std::string pin_root_, socket_, pidfile_;
    pid_t pid_ = 0;
};

long long services_quota(const std::string& status) {
    std::size_t quotas = status.find("\"quotas\":{");
    return quotas == std::string::npos ? -1 : json_number(status, "services", quotas);
}

TEST(LoaderProgramTest, DaemonServesWritesItsPidfileReloadsOnHupAndStopsOnTermOrInt) {
    LITEIPC_REQUIRE_SYSTEM();
    for (int stop_signal : {SIGTERM, SIGINT}) {
        SCOPED_TRACE(stop_signal == SIGTERM ? "SIGTERM" : "SIGINT");
        TempFile config("quota.services = 7\n");
        BackgroundLoader loader("daemon");
        auto [out, status] = loader.start("--log-level info --config " + config.path());
        ASSERT_EQ(status, 0) << out;
        // The caller gets its exit status once the loader serves: the socket answers at once.
        ASSERT_GT(loader.pid(), 0) << "no pid in " << loader.pidfile() << "; output: " << out;
        EXPECT_TRUE(loader.answers());
        EXPECT_NE(out.find("serving in the background, pid " + std::to_string(loader.pid())), std::string::npos) << out;
        // Its start-up lines carry its own pid, not the parent's that exited.
        EXPECT_NE(out.find("liteipc-loader[" + std::to_string(loader.pid()) + "] info"), std::string::npos) << out;
        EXPECT_NE(out.find("ready: pin root"), std::string::npos) << out;
        EXPECT_EQ(json_number(loader.status(), "loader_pid"), loader.pid()) << "the pidfile names another process";
        EXPECT_EQ(services_quota(loader.status()), 7) << loader.status();

        // SIGHUP re-reads the config in the background too.
        config.rewrite("quota.services = 9\n");
        ASSERT_EQ(::kill(loader.pid(), SIGHUP), 0);
        EXPECT_TRUE(eventually([&] { return services_quota(loader.status()) == 9; })) << loader.status();
        EXPECT_TRUE(process_exists(loader.pid())) << "SIGHUP ended the loader";

        ASSERT_EQ(::kill(loader.pid(), stop_signal), 0);
        EXPECT_TRUE(eventually([&] { return !process_exists(loader.pid()); })) << "the loader ignored the signal";
        EXPECT_FALSE(fs::exists(loader.pidfile())) << "the pidfile outlived the loader";
        EXPECT_FALSE(fs::exists(loader.socket())) << "the socket outlived the loader";
    }
}

TEST(LoaderProgramTest, DaemonThatCannotStartSaysWhyAndExitsNonZero) {
    LITEIPC_REQUIRE_SYSTEM();
    BackgroundLoader loader("daemon-bad");
    auto [out, status] = loader.start("--config /nonexistent/liteipc-loader.conf");
    EXPECT_EQ(status, 1) << out;
    EXPECT_NE(out.find("/nonexistent/liteipc-loader.conf"), std::string::npos) << out;
    EXPECT_NE(out.find("did not start"), std::string::npos) << out;
    EXPECT_FALSE(fs::exists(loader.pidfile()));
    EXPECT_FALSE(loader.answers());
}

TEST(LoaderProgramTest, LogLevelOptionBeatsTheEnvironment) {
    LITEIPC_REQUIRE_SYSTEM();
    const std::string log = "/tmp/liteipc-test-loglevel-" + std::to_string(::getpid()) + ".log";
    {
        // LITEIPC_LOG_LEVEL=error and --log-level info (after the fixture's own, so it is the last
        // word): the info line of a start shows.
        ::setenv("LITEIPC_LOG_LEVEL", "error", 1);
        Loader loader("loglevel", {"--log-level", "info"});
        loader.log_to(log);
        auto started = loader.start();
        ::unsetenv("LITEIPC_LOG_LEVEL");
        ASSERT_TRUE(started);
        EXPECT_TRUE(eventually([&] { return read_file(log).find("ready: pin root") != std::string::npos; }))
            << "--log-level info lost to LITEIPC_LOG_LEVEL=error: " << read_file(log);
    }
    // LITEIPC_LOG_LEVEL=error alone: no info line in a whole start and stop.
    const std::string pin_root = "/sys/fs/bpf/liteipc-test-envlevel-" + std::to_string(::getpid());
    const std::string socket = "/tmp/liteipc-test-envlevel-" + std::to_string(::getpid()) + ".sock";
    auto [pid_text, shell_status] = run_command("LITEIPC_LOG_LEVEL=error " + std::string(LITEIPC_LOADER_PATH) +
                                                " --pin-root " + pin_root + " --socket " + socket + " >" + log +
                                                " 2>&1 & echo $!");
    ASSERT_EQ(shell_status, 0);
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    EXPECT_TRUE(eventually([&] {
        int fd = connect_raw(socket);
        if (fd >= 0) ::close(fd);
        return fd >= 0;
    })) << read_file(log);
    ::kill(pid, SIGTERM);
    EXPECT_TRUE(eventually([&] { return !process_exists(pid); }));
    EXPECT_EQ(read_file(log).find(" info "), std::string::npos) << read_file(log);
    run_command(loader_command("--unload --pin-root " + pin_root));
    ::unlink(log.c_str());
}

TEST(LoaderProgramTest, BadLogLevelsAreErrorsWhereverTheyComeFrom) {
    LITEIPC_REQUIRE_SYSTEM();
    const std::string missing = "/sys/fs/bpf/liteipc-test-nolevel-" + std::to_string(::getpid());
    auto [out, status] = run_command(loader_command("--log-level loud --pin-root " + missing));
    EXPECT_EQ(status, 2) << out;
    EXPECT_NE(out.find("--log-level 'loud' is not a log level"), std::string::npos) << out;
    std::tie(out, status) = run_command("LITEIPC_LOG_LEVEL=loud " + loader_command("--pin-root " + missing));
    EXPECT_EQ(status, 2) << out;
    EXPECT_NE(out.find("LITEIPC_LOG_LEVEL 'loud' is not a log level"), std::string::npos) << out;
    EXPECT_FALSE(fs::exists(missing)) << "a loader with a bad level went on to load BPF";
    // A good option over a bad environment: the option is what counts (here: an unload of nothing).
    std::tie(out, status) = run_command("LITEIPC_LOG_LEVEL=loud " + loader_command("--log-level warn --unload --pin-root " + missing));
    EXPECT_EQ(status, 1) << out;
    EXPECT_EQ(out.find("not a log level"), std::string::npos) << out;
    std::tie(out, status) = run_command(loader_command("--pin-root " + missing + " stray"));
    EXPECT_EQ(status, 2) << out;
    EXPECT_NE(out.find("unexpected argument 'stray'"), std::string::npos) << out;
}

TEST(LoaderProgramTest, UnloadOfAMissingPinRootSaysSoAndFails) {
    LITEIPC_REQUIRE_SYSTEM();
    const std::string missing = "/sys/fs/bpf/liteipc-test-nothing-" + std::to_string(::getpid());
    auto [out, status] = run_command(loader_command("--unload --pin-root " + missing));
    EXPECT_EQ(status, 1) << out;
    EXPECT_NE(out.find("nothing to unload: no pin root at " + missing), std::string::npos) << out;
    EXPECT_EQ(out.find("removed"), std::string::npos) << out;
}

TEST(LoaderProgramTest, ReloadOfAMissingConfigIsAnErrorAndThePreviousOneStays) {
    LITEIPC_REQUIRE_SYSTEM();
    TempFile config("quota.services = 7\n");
    const std::string log = "/tmp/liteipc-test-reload-" + std::to_string(::getpid()) + ".log";
    Loader loader("reload", {"--config", config.path(), "--log-level", "info"});
    loader.log_to(log);
    ASSERT_TRUE(loader.start());
    auto quota = [&] { return services_quota(status_text(loader)); };
    EXPECT_EQ(quota(), 7);

    ::unlink(config.path().c_str());
    ASSERT_EQ(::kill(loader.pid(), SIGHUP), 0);
    EXPECT_TRUE(eventually([&] { return read_file(log).find("config not reloaded") != std::string::npos; }))
        << read_file(log);
    EXPECT_EQ(read_file(log).find("reloaded " + config.path()), std::string::npos) << read_file(log);
    EXPECT_EQ(quota(), 7) << "the previous config stays in force";

    // The file back, changed: the next SIGHUP takes it.
    config.rewrite("quota.services = 9\n");
    ASSERT_EQ(::kill(loader.pid(), SIGHUP), 0);
    EXPECT_TRUE(eventually([&] { return quota() == 9; }));
    EXPECT_TRUE(eventually([&] { return read_file(log).find("reloaded " + config.path()) != std::string::npos; }))
        << read_file(log);
    loader.stop();
    ::unlink(log.c_str());
}

}  // namespace
}  // namespace liteipc::testing
