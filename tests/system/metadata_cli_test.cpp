// `liteipc call` against a live private loader: typed arguments in, the reply's fields out, in
// text and JSON; bad arguments are named errors with the documented exit statuses.
#include <nlohmann/json.hpp>

#include "test_processes.h"

namespace liteipc::testing {
namespace {

using Json = nlohmann::json;

std::pair<std::string, int> run_cli(const Loader& loader, const std::string& args) {
    // The environment names the loader here, as a user's shell would (LITEIPC_SOCKET/PIN_ROOT).
    std::string command = "LITEIPC_SOCKET=" + loader.socket() + " LITEIPC_PIN_ROOT=" + loader.pin_root() + " " +
                          LITEIPC_CLI_PATH + " " + args + " 2>&1";
    return run_command(command);
}

class MetadataCliTest : public WithLoader<> {
protected:
    MetadataCliTest() : WithLoader("mcli") {}
};

TEST_F(MetadataCliTest, CallSendsTypedArgumentsAndPrintsTheReplyFields) {
    ServiceOptions options;
    options.name = "test.cli.echo";
    ServiceProcess service(loader_.options(), options);

    auto [out, status] = run_cli(loader_, "call test.cli.echo 1 s:hello i32:41 --reply s,i32 --json");
    ASSERT_EQ(status, 0) << out;
    Json call = Json::parse(out)["call"];
    EXPECT_EQ(call["service"], "test.cli.echo");
    EXPECT_EQ(call["code"], 1u);
    EXPECT_EQ(call["status"], 0);
    ASSERT_EQ(call["fields"].size(), 2u) << out;
    EXPECT_EQ(call["fields"][0]["type"], "s");
    EXPECT_EQ(call["fields"][0]["value"], "hello");
    EXPECT_EQ(call["fields"][1]["value"], 42);

    auto [text, text_status] = run_cli(loader_, "call test.cli.echo 1 s:hi i32:-8 --reply s,i32");
    ASSERT_EQ(text_status, 0) << text;
    EXPECT_NE(text.find("status 0"), std::string::npos) << text;
    EXPECT_NE(text.find("s    \"hi\""), std::string::npos) << text;
    EXPECT_NE(text.find("i32  -7"), std::string::npos) << text;

    // The kernel-stamped caller is the CLI's own process: a fresh pid, our uid.
    auto [who, who_status] = run_cli(loader_, "call test.cli.echo 2 --reply u32,u32 --json");
    ASSERT_EQ(who_status, 0) << who;
    Json fields = Json::parse(who)["call"]["fields"];
    EXPECT_NE(fields[0]["value"], static_cast<uint32_t>(::getpid()));
    EXPECT_EQ(fields[1]["value"], ::getuid());

    // Every one a named error with its exit status, and the service lives on.
    EXPECT_EQ(run_cli(loader_, "call test.cli.echo 1 x:1").second, 2);
    EXPECT_EQ(run_cli(loader_, "call test.cli.echo 1 i8:300").second, 2);
    EXPECT_EQ(run_cli(loader_, "call test.cli.echo 1 hello").second, 2);
    EXPECT_EQ(run_cli(loader_, "call test.cli.echo notanumber").second, 2);
    EXPECT_EQ(run_cli(loader_, "call test.cli.echo").second, 2);
    EXPECT_EQ(run_cli(loader_, "call no.such.service 1").second, 5);
    auto [missing, missing_status] = run_cli(loader_, "call test.cli.echo 1 --reply s,u64,u64");
    EXPECT_EQ(missing_status, 1) << missing;
    EXPECT_NE(missing.find("no u64 field"), std::string::npos) << missing;
    EXPECT_EQ(run_cli(loader_, "call test.cli.echo 1 s:again i32:1 --reply s,i32").second, 0);
}

TEST_F(MetadataCliTest, ReadOnlyCommandsRegisterNothing) {
    ServiceOptions options;
    options.name = "test.cli.quiet";
    ServiceProcess service(loader_.options(), options);
    auto before = Json::parse(*context_->loader_status());
    for (const char* args : {"stats --json", "status test.cli.quiet --json", "list --json", "status --json"})
        EXPECT_EQ(run_cli(loader_, args).second, 0) << args;
    auto after = Json::parse(*context_->loader_status());
    EXPECT_EQ(after["processes_alive"], before["processes_alive"]);
    EXPECT_EQ(after["processes"].size(), before["processes"].size());
}

}  // namespace
}  // namespace liteipc::testing
