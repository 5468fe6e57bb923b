// The names an import registers, remote.<peer>.<service>, against those who would take them: a
// bridge refuses to import unless the loader's name policy reserves remote.* for its uid; with
// the reservation, a member of the liteipc group (another uid) trying to register an imported
// name before the bridge starts and while the import is down is refused every time, and the
// local client's text goes to the remote service, never to the squatter. A policy opened under a
// running bridge keeps a lost import from registering again. A name taken by a process the
// policy admits is reported (log, counter, status) and retried until it is free.
#include <grp.h>

#include <fstream>
#include <sstream>

#include "bridge_fixture.h"

namespace liteipc::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kImportOfB = R"("peers":[{"name":"b","identity":"host-b","address":"10.213.0.2:7443"}],)"
                                   R"("imports":[{"peer":"b","service":"demo.cpp-echo"}])";

// The pid that holds `name` on `host`'s loader (`liteipc list`: handle, name, owner pid, ...); 0: none.
long holder_on(TwoHosts& hosts, Host& host, const std::string& name) {
    std::istringstream lines(hosts.services_on(host));
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::string handle, listed;
        long pid = 0;
        if (fields >> handle >> listed >> pid && listed == name) return pid;
    }
    return 0;
}

// Starts a's bridge under `policy`; checks it exits 1 at once, its log naming `expected`.
void expect_refused_under(const std::string& policy, const std::string& expected) {
    TwoHosts hosts(policy);
    ASSERT_TRUE(hosts.start());
    hosts.write_config(hosts.a(), kImportOfB);
    hosts.start_bridge(hosts.a());
    const auto status = hosts.a().bridge->wait_for(seconds(20));
    ASSERT_TRUE(status.has_value()) << "the bridge runs under: " << policy;
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << *status;
    EXPECT_NE(hosts.a().bridge->output().find(expected), std::string::npos) << hosts.a().bridge->output();
    EXPECT_EQ(hosts.services_on(hosts.a()).find("remote."), std::string::npos) << "an import registered";
}

TEST(BridgeNamesPolicyTest, RefusesToImportUnlessTheLoaderReservesRemoteForIt) {
    LITEIPC_REQUIRE_SYSTEM();
    // An open policy: any member could take remote.*; the error says which rule to add.
    expect_refused_under("unlisted_names = anyone\n", "add `own remote.* by user:root` to the loader's config");
    // The prefix given to everyone, or a part of it to another uid: the error names the rule.
    expect_refused_under("own remote.* by anyone\n", "rule `own remote.* by anyone` lets others own names under remote.");
    expect_refused_under("own remote.* by uid:0\nown remote.b.* by uid:65534\nunlisted_names = anyone\n",
                         "rule `own remote.b.* by uid:65534` lets others own names under remote.");
}

// A member of the liteipc group (uid nobody) tries to take remote.b.demo.cpp-echo on host a
// from before the bridges start until the test ends.
class BridgeSquatterTest : public BridgeTest {
protected:
    void before_bridges_start() override {
        const group* liteipc = ::getgrnam("liteipc");
        if (!liteipc) {
            if (bpf_required()) FAIL() << "group liteipc missing (scripts/setup-env.sh creates it)";
            GTEST_SKIP() << "group liteipc missing";
        }
        squatter_ = &hosts_.run_on(hosts_.a(),
                                   {"/usr/bin/setpriv", "--reuid=65534", "--regid=" + std::to_string(liteipc->gr_gid),
                                    "--clear-groups", LITEIPC_TEST_PEER_PATH, "bridge_squat", "--name", "remote.b.demo.cpp-echo"},
                                   "squatter");
        ASSERT_TRUE(eventually([&] { return squatter_->output().find("refused 1: ") != std::string::npos; }, seconds(10)))
            << squatter_->output();
    }

    // The number of the squatter's last reported refusal.
    uint64_t refusals() const {
        const std::string out = squatter_->output();
        const size_t last = out.rfind("refused ");
        return last == std::string::npos ? 0 : std::stoull(out.substr(last + 8));
    }

    // A client on a echoes `text` through the import: the answer comes from b's echo service.
    void expect_echo(const std::string& text) {
        Spawned& client = hosts_.run_on(hosts_.a(), {LITEIPC_TEST_PEER_PATH, "bridge_client", "--name", "remote.b.demo.cpp-echo",
                                                     "--text", text}, "client-" + text);
        EXPECT_EQ(client.wait(), 0) << client.output();
        EXPECT_NE(client.output().find("echo -> \"" + text + "\""), std::string::npos) << client.output();
    }

    Spawned* squatter_ = nullptr;
};

TEST_F(BridgeSquatterTest, AMemberOfAnotherUidNeverTakesAnImportedNameBeforeTheBridgeOrWhileTheImportIsDown) {
    EXPECT_NE(squatter_->output().find("name not allowed"), std::string::npos) << squatter_->output();
    expect_echo("before-the-loss");

    // The remote service goes: the import child exits and its name is free for a while.
    Host& a = hosts_.a();
    Host& b = hosts_.b();
    b.processes[0]->kill(SIGKILL);
    ASSERT_TRUE(eventually([&] { return holder_on(hosts_, a, "remote.b.demo.cpp-echo") == 0; }, seconds(10)));
    // The squatter keeps trying (at least 20 more refusals) while the import is down.
    const uint64_t before = refusals();
    EXPECT_TRUE(eventually([&] { return refusals() >= before + 40; }, seconds(10))) << squatter_->output();
    EXPECT_TRUE(holder_on(hosts_, a, "remote.b.demo.cpp-echo") == 0) << "the import came back before the squatter tried";

    hosts_.run_on(b, {LITEIPC_CPP_ECHO_SERVICE, "--name", "demo.cpp-echo"}, "cpp-echo-again");
    ASSERT_TRUE(hosts_.wait_for_service(a, "remote.b.demo.cpp-echo", seconds(20))) << a.bridge->output();
    expect_echo("after-the-loss");

    // Every attempt was refused by the name policy, and nothing reached the squatter.
    const std::string out = squatter_->output();
    EXPECT_EQ(out.find("registered"), std::string::npos) << out;
    EXPECT_EQ(out.find("got "), std::string::npos) << out;
    EXPECT_EQ(out.find("already exists"), std::string::npos) << "refused for the wrong reason: " << out;
}

// The policy changed under a running bridge: root opens remote.* to everyone and reloads a's
// loader. Once the import is lost, its child does not register the name again while others could
// take it; it does once the reservation is back.
TEST_F(BridgeTest, AnImportIsNotRegisteredAgainWhileThePolicyLetsOthersTakeItsName) {
    Host& a = hosts_.a();
    Host& b = hosts_.b();
    const std::string name = "remote.b.demo.cpp-echo";
    auto reload = [&](const std::string& policy, size_t rules) {
        std::ofstream(hosts_.dir() + "/loader.conf") << policy;
        ASSERT_EQ(::kill(a.loader->pid(), SIGHUP), 0);
        ASSERT_TRUE(eventually(
            [&] {
                auto status = context_->loader_status();
                auto document = nlohmann::json::parse(status.value_or("{}"), nullptr, false);
                return !document.is_discarded() && document.contains("name_policy") &&
                       document["name_policy"]["rules"].size() == rules;
            },
            seconds(10)));
    };
    reload("unlisted_names = anyone\n", 0);

    b.processes[0]->kill(SIGKILL);  // the remote service: the import is lost
    ASSERT_TRUE(eventually([&] { return holder_on(hosts_, a, name) == 0; }, seconds(10)));
    hosts_.run_on(b, {LITEIPC_CPP_ECHO_SERVICE, "--name", "demo.cpp-echo"}, "cpp-echo-again");
    ASSERT_TRUE(eventually(
        [&] { return a.bridge->output().find("not registering " + name + ": name not allowed") != std::string::npos; },
        seconds(20)))
        << a.bridge->output();
    EXPECT_EQ(holder_on(hosts_, a, name), 0) << "registered while others could take the name";

    reload(kBridgeReservation, 1);
    ASSERT_TRUE(hosts_.wait_for_service(a, name, seconds(20))) << a.bridge->output();
    auto echo = connect(name);
    Request request(echo);
    request.writer().write_string("back");
    auto reply = echo.call(kEcho, request, seconds(10));
    ASSERT_TRUE(reply) << reply.error().describe();
    EXPECT_EQ(reply->reader().read_string(), "back");
}

// A process the policy admits (root, here this test) holds remote.b.demo.cpp-echo when the bridges start.
class BridgeNameTakenTest : public BridgeTest {
protected:
    void before_bridges_start() override {
        auto context = Context::open(hosts_.a().loader->options());
        ASSERT_TRUE(context) << context.error().describe();
        holder_context_.emplace(std::move(*context));
        auto service = Service::start(*holder_context_, {.name = "remote.b.demo.cpp-echo", .policy = Policy::anyone},
                                      [](Call&) { return 0; });
        ASSERT_TRUE(service) << service.error().describe();
        holder_.emplace(std::move(*service));
    }

    nlohmann::json import_status(const std::string& name) {
        for (const auto& import : bridge_status(hosts_.a()).value("imports", nlohmann::json::array()))
            if (import["service"] == name) return import;
        return nlohmann::json::object();
    }

    std::optional<Context> holder_context_;
    std::optional<Service> holder_;
};

TEST_F(BridgeNameTakenTest, IsReportedInTheLogAndStatusAndRetriedUntilTheNameIsFree) {
    Host& a = hosts_.a();
    const std::string name = "remote.b.demo.cpp-echo";
    // Counted, shown as not registered, and logged with who holds it.
    ASSERT_TRUE(eventually([&] { return import_status(name).value("name_taken", 0) >= 2; }, seconds(20)))
        << import_status(name).dump() << a.bridge->output();
    EXPECT_FALSE(import_status(name).value("registered", true)) << import_status(name).dump();
    const std::string log = a.bridge->output();
    EXPECT_NE(log.find(name + " is registered by pid " + std::to_string(::getpid()) + " (uid 0), not this bridge"),
              std::string::npos) << log;
    EXPECT_NE(log.find(name + ": name held by another process"), std::string::npos) << log;

    // The holder goes: the next try registers the import, and calls reach b's echo service.
    holder_.reset();
    ASSERT_TRUE(eventually(
        [&] {
            auto import = import_status(name);
            return import.value("registered", false) && holder_on(hosts_, a, name) == import.value("pid", 0);
        },
        seconds(20)))
        << import_status(name).dump() << a.bridge->output();
    auto echo = connect(name);
    Request request(echo);
    request.writer().write_string("to b");
    auto reply = echo.call(kEcho, request, seconds(10));
    ASSERT_TRUE(reply) << reply.error().describe();
    EXPECT_EQ(reply->status(), 0);
    EXPECT_EQ(reply->reader().read_string(), "to b");
}

}  // namespace
}  // namespace liteipc::testing
