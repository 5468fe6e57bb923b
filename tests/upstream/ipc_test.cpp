// OpenHarmony's C-lite IPC suite (communication_ipc test/unittest/c_lite/ipc) on liteipc: its
// samgr, server and client as three processes (ipc_samgr.c, ipc_server.c, ipc_client.c) on a
// private liteipc-loader, started in upstream's order; one test per upstream case, each the
// verdict its process reported. README.md maps the cases.
#include <cstdlib>
#include <memory>

#include "case_process.h"
#include "loader_fixture.h"

namespace liteipc::testing {
namespace {

class UpstreamIpc : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (!why_no_bpf().empty()) return;
        loader_ = std::make_unique<Loader>("upstream-ipc");
        if (!loader_->start()) return;
        ::setenv("LITEIPC_SOCKET", loader_->socket().c_str(), 1);
        ::setenv("LITEIPC_PIN_ROOT", loader_->pin_root().c_str(), 1);
    }
    static void TearDownTestSuite() {
        client_.reset();
        server_.reset();
        samgr_.reset();
        loader_.reset();
    }
    void SetUp() override {
        LITEIPC_REQUIRE_SYSTEM();
        ASSERT_NE(loader_, nullptr);
    }

    // Each process starts once the one before it is where upstream's runbook has it.
    static CaseProcess& samgr() {
        if (!samgr_) samgr_ = std::make_unique<CaseProcess>(LITEIPC_UPSTREAM_SAMGR);
        return *samgr_;
    }
    static CaseProcess& server() {
        if (!server_) {
            samgr().line("IpcSamgrTest001");
            server_ = std::make_unique<CaseProcess>(LITEIPC_UPSTREAM_SERVER);
        }
        return *server_;
    }
    static CaseProcess& client() {
        if (!client_) {
            server().line("IpcServerTest005");
            client_ = std::make_unique<CaseProcess>(LITEIPC_UPSTREAM_CLIENT);
        }
        return *client_;
    }

    static inline std::unique_ptr<Loader> loader_;
    static inline std::unique_ptr<CaseProcess> samgr_, server_, client_;
};

TEST_F(UpstreamIpc, IpcSamgrTest001) { EXPECT_EQ(samgr().verdict("IpcSamgrTest001"), "ok"); }

TEST_F(UpstreamIpc, IpcServerTest001) { EXPECT_EQ(server().verdict("IpcServerTest001"), "ok"); }
TEST_F(UpstreamIpc, IpcServerTest002) { EXPECT_EQ(server().verdict("IpcServerTest002"), "ok"); }
TEST_F(UpstreamIpc, IpcServerTest003) { EXPECT_EQ(server().verdict("IpcServerTest003"), "ok"); }
TEST_F(UpstreamIpc, IpcServerTest004) { EXPECT_EQ(server().verdict("IpcServerTest004"), "ok"); }
TEST_F(UpstreamIpc, IpcServerTest005) { EXPECT_EQ(server().verdict("IpcServerTest005"), "ok"); }

TEST_F(UpstreamIpc, IpcClientTest001) { EXPECT_EQ(client().verdict("IpcClientTest001"), "ok"); }
TEST_F(UpstreamIpc, IpcClientTest002) { EXPECT_EQ(client().verdict("IpcClientTest002"), "ok"); }
TEST_F(UpstreamIpc, IpcServerTest002_01) { EXPECT_EQ(client().verdict("IpcServerTest002_01"), "ok"); }
TEST_F(UpstreamIpc, IpcClientTest003) { EXPECT_EQ(client().verdict("IpcClientTest003"), "ok"); }

// The server calls back the anonymous object the client handed it in IpcClientTest003.
TEST_F(UpstreamIpc, IpcServerTest006) {
    EXPECT_EQ(client().verdict("IpcClientTest003"), "ok");
    EXPECT_EQ(server().verdict("IpcServerTest006"), "ok");
    EXPECT_EQ(client().line("CLIENT_OP_PRINT"), "server call anonymos service new thread.");
}

TEST_F(UpstreamIpc, IpcClientTest004) { EXPECT_EQ(client().verdict("IpcClientTest004"), "ok"); }
TEST_F(UpstreamIpc, IpcClientTest005) { EXPECT_EQ(client().verdict("IpcClientTest005"), "ok"); }
TEST_F(UpstreamIpc, IpcClientTest006) { EXPECT_EQ(client().verdict("IpcClientTest006"), "ok"); }
TEST_F(UpstreamIpc, IpcClientTest007) { EXPECT_EQ(client().verdict("IpcClientTest007"), "ok"); }
TEST_F(UpstreamIpc, IpcClientTest008) { EXPECT_EQ(client().verdict("IpcClientTest008"), "ok"); }

// Upstream's client spins so that the server can be killed by hand: here the driver kills it.
TEST_F(UpstreamIpc, IpcClientTest009) {
    ASSERT_EQ(client().line("IpcClientTest009.added"), "0 0");
    server().kill();
    EXPECT_EQ(client().verdict("IpcClientTest009"), "ok");
}

}  // namespace
}  // namespace liteipc::testing
