// The loader changes only what it created: the mode of a directory it found stays as it was, a
// socket another loader answers on is not taken over, pins a running loader serves are not
// removed, and paths another non-root user controls or pinned state of another ABI are refused.
#include <bpf/bpf.h>
#include <sys/stat.h>

#include <filesystem>

#include "trust_support.h"

namespace liteipc::testing {
namespace {

namespace fs = std::filesystem;

#define LITEIPC_REQUIRE_GROUP()                                                                   \
    do {                                                                                          \
        LITEIPC_REQUIRE_SYSTEM();                                                                 \
        if (!::getgrnam("liteipc")) {                                                             \
            if (bpf_required()) FAIL() << "group liteipc missing (scripts/setup-env.sh creates it)"; \
            GTEST_SKIP() << "group liteipc missing";                                              \
        }                                                                                         \
    } while (0)

// A private directory under /tmp, removed with everything in it.
class PrivateDir {
public:
    PrivateDir() {
        char name[] = "/tmp/liteipc-trust-dir-XXXXXX";
        path_ = ::mkdtemp(name) ? name : "";
    }
    ~PrivateDir() {
        std::error_code ec;
        if (!path_.empty()) fs::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// Runs liteipc-loader with `args`; its exit status and what it printed.
std::pair<int, std::string> run_loader(const std::string& args) {
    std::string command = std::string(LITEIPC_LOADER_PATH) + " " + args + " 2>&1";
    FILE* out = ::popen(command.c_str(), "r");
    if (!out) return {-1, {}};
    std::string text;
    char line[512];
    while (std::fgets(line, sizeof line, out)) text += line;
    int status = ::pclose(out);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

TEST(TrustHostTest, TheSocketDirectoryKeepsItsModeOwnerAndGroup) {
    LITEIPC_REQUIRE_GROUP();
    PrivateDir dir;
    ASSERT_FALSE(dir.path().empty());
    ASSERT_EQ(::chmod(dir.path().c_str(), 01777), 0);  // as /tmp is
    struct stat before{}, after{};
    ASSERT_EQ(::stat(dir.path().c_str(), &before), 0);
    {
        Loader loader("trust-dir", {}, dir.path() + "/liteipc.sock");
        ASSERT_TRUE(loader.start());
        auto member = in_child<1>([&] {
            if (!become_group_member()) return std::array<int, 1>{-1};
            auto context = Context::open(loader.options());
            return std::array<int, 1>{context ? 0 : code(context.error().code)};
        });
        EXPECT_EQ(member[0], 0) << "a group member reaches the socket";
        loader.stop();
    }
    ASSERT_EQ(::stat(dir.path().c_str(), &after), 0);
    EXPECT_EQ(after.st_mode, before.st_mode) << std::oct << after.st_mode << " was " << before.st_mode;
    EXPECT_EQ(after.st_uid, before.st_uid);
    EXPECT_EQ(after.st_gid, before.st_gid);
    EXPECT_FALSE(fs::exists(dir.path() + "/liteipc.sock")) << "the loader leaves its socket behind";
}

TEST(TrustHostTest, AMissingRuntimeDirectoryIsMadeRootLiteipc0750) {
    LITEIPC_REQUIRE_GROUP();
    PrivateDir dir;
    const std::string runtime = dir.path() + "/run/liteipc";
    Loader loader("trust-rundir", {}, runtime + "/liteipc.sock");
    ASSERT_TRUE(loader.start());
    struct stat st{};
    ASSERT_EQ(::stat(runtime.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0750u);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_gid, ::getgrnam("liteipc")->gr_gid);
    auto outsider = in_child<1>([&] {
        // Outside the group: not even the socket's directory.
        if (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0)
            return std::array<int, 1>{-1};
        auto context = Context::open(loader.options());
        return std::array<int, 1>{context ? 0 : code(context.error().code)};
    });
    EXPECT_EQ(outsider[0], code(Errc::permission_denied)) << "an outsider is told to join the group, not to start a loader";
}

TEST(TrustHostTest, ASecondLoaderOnASocketInUseIsRefusedAndTheFirstKeepsServing) {
    LITEIPC_REQUIRE_GROUP();
    Loader first("trust-first");
    ASSERT_TRUE(first.start());
    const std::string other_root = "/sys/fs/bpf/liteipc-test-trust-second-" + std::to_string(::getpid());
    auto [status, text] = run_loader("--foreground --pin-root " + other_root + " --socket " + first.socket());
    EXPECT_NE(status, 0);
    EXPECT_NE(text.find("already answers"), std::string::npos) << text;
    EXPECT_FALSE(fs::exists(other_root)) << "the refused loader loaded BPF before checking its socket";
    auto context = Context::open(first.options());
    ASSERT_TRUE(context) << context.error().describe();
    EXPECT_TRUE(context->loader_status());
}

TEST(TrustHostTest, UnloadIsRefusedWhileALoaderServesThePinRoot) {
    LITEIPC_REQUIRE_GROUP();
    Loader loader("trust-unload");
    ASSERT_TRUE(loader.start());
    auto [status, text] = run_loader("--unload --pin-root " + loader.pin_root());
    EXPECT_NE(status, 0);
    EXPECT_NE(text.find("another liteipc-loader"), std::string::npos) << text;
    EXPECT_TRUE(fs::exists(loader.pin_root() + "/procs"));
    auto context = Context::open(loader.options());
    ASSERT_TRUE(context) << context.error().describe();
    loader.stop();
    auto [after_stop, ignored] = run_loader("--unload --pin-root " + loader.pin_root());
    EXPECT_EQ(after_stop, 0);
    EXPECT_FALSE(fs::exists(loader.pin_root()));
}

TEST(TrustHostTest, PathsAnotherNonRootUserOwnsAreRefused) {
    LITEIPC_REQUIRE_GROUP();
    PrivateDir dir;
    ASSERT_EQ(::chown(dir.path().c_str(), kNobody, kNobody), 0);
    const std::string root = "/sys/fs/bpf/liteipc-test-trust-foreign-" + std::to_string(::getpid());
    auto [status, text] = run_loader("--foreground --pin-root " + root + " --socket " + dir.path() + "/x.sock");
    EXPECT_NE(status, 0);
    EXPECT_NE(text.find("belongs to uid 65534"), std::string::npos) << text;

    ASSERT_EQ(::mkdir(root.c_str(), 0700), 0);
    ASSERT_EQ(::chown(root.c_str(), kNobody, kNobody), 0);
    PrivateDir mine;
    std::tie(status, text) = run_loader("--foreground --pin-root " + root + " --socket " + mine.path() + "/x.sock");
    EXPECT_NE(status, 0);
    EXPECT_NE(text.find("belongs to uid 65534"), std::string::npos) << text;
    EXPECT_TRUE(fs::is_empty(root)) << "pins were made under a root another user owns";
    ::rmdir(root.c_str());
}

TEST(TrustHostTest, PinnedStateOfAnotherAbiIsRefusedWithHowToUnload) {
    LITEIPC_REQUIRE_GROUP();
    const std::string root = "/sys/fs/bpf/liteipc-test-trust-abi-" + std::to_string(::getpid());
    ASSERT_EQ(::mkdir(root.c_str(), 0700), 0);
    // An earlier layout's process table, pinned without an ABI version.
    int procs = bpf_map_create(BPF_MAP_TYPE_ARRAY, "procs", 4, 48, 16, nullptr);
    ASSERT_GE(procs, 0);
    ASSERT_EQ(bpf_obj_pin(procs, (root + "/procs").c_str()), 0);
    ::close(procs);
    PrivateDir dir;
    auto [status, text] = run_loader("--foreground --pin-root " + root + " --socket " + dir.path() + "/x.sock");
    EXPECT_NE(status, 0);
    EXPECT_NE(text.find("ABI"), std::string::npos) << text;
    EXPECT_NE(text.find("liteipc-loader --unload --pin-root " + root), std::string::npos) << text;
    EXPECT_TRUE(fs::exists(root + "/procs"));
    auto [unloaded, ignored] = run_loader("--unload --pin-root " + root);
    EXPECT_EQ(unloaded, 0);
    EXPECT_FALSE(fs::exists(root));
}

TEST(TrustHostTest, AConnectionRegionAPeerCouldShrinkIsRefused) {
    LITEIPC_REQUIRE_GROUP();
    Loader loader("trust-seals");
    ASSERT_TRUE(loader.start());
    auto context = Context::open(loader.options());
    ASSERT_TRUE(context) << context.error().describe();
    auto request = control_request(detail::ControlOp::register_service, 0, "sealed.only");
    request.policy = LITEIPC_POLICY_ANYONE;
    auto registered = context->impl().control(request);
    ASSERT_TRUE(registered) << registered.error().describe();
    liteipc_connect_ctl connect{};
    connect.handle = registered->reply.handle;
    LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &connect, .ctx_size_in = sizeof connect);
    ASSERT_EQ(bpf_prog_test_run_opts(context->impl().kernel().connect_program_fd(), &run), 0);
    ASSERT_EQ(connect.result, 0);
    // A ctrl region its sender could shrink later would make the service's mapping fault.
    auto ctrl = sealed_memfd(1 << 16, 0);
    auto pool = sealed_memfd(1 << 16, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE);
    auto open = control_request(detail::ControlOp::open_channel);
    open.conn_id = connect.conn_id;
    const int half[] = {ctrl.get(), pool.get()};
    int s = connect_raw(loader.socket());
    RawReply reply = raw_request(s, open, half);
    ::close(s);
    ASSERT_TRUE(reply.answered);
    EXPECT_EQ(reply.code(), Errc::invalid_argument);
    EXPECT_NE(std::string(reply.reply.message).find("not sealed"), std::string::npos) << reply.reply.message;
}

}  // namespace
}  // namespace liteipc::testing
