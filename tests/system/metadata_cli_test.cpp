// `liteipc call` against a live private loader: typed arguments in, the reply's fields out, in
// text and JSON; bad arguments are named errors with the documented exit statuses.
#include <grp.h>

#include <filesystem>
#include <fstream>

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

// A uid outside the liteipc group: every command, `call` included, says to join the group and
// exits 4, as liteipc(1) documents; none of them says to start a loader that runs.
class CliOutsiderTest : public WithLoader<> {
protected:
    CliOutsiderTest() : WithLoader("mcli-out", /*needs_group=*/true) {}
};

TEST_F(CliOutsiderTest, EveryCommandSaysJoinTheGroupWithExitFour) {
    ServiceOptions anyone = service_named("test.cli.outsider");
    anyone.policy = Policy::anyone;  // the group member below is admitted, the outsider never reaches it
    ServiceProcess service(loader_.options(), anyone);
    const std::string outsider = "setpriv --reuid=65533 --regid=65533 --clear-groups ";
    for (const char* args : {"call test.cli.outsider 1 s:x i32:1", "list", "status", "monitor --count 1"}) {
        auto [out, status] = run_command(outsider + LITEIPC_CLI_PATH + " --socket " + loader_.socket() +
                                         " --pin-root " + loader_.pin_root() + " " + args + " 2>&1");
        EXPECT_EQ(status, 4) << args << ": " << out;
        EXPECT_NE(out.find("join the"), std::string::npos) << args << ": " << out;
        EXPECT_EQ(out.find("start it"), std::string::npos) << args << ": " << out;
    }
    // A member of the group calls the same service with the same command.
    auto [out, status] = run_command("setpriv --reuid=65533 --regid=65533 --groups=" +
                                     std::to_string(::getgrnam("liteipc")->gr_gid) + " " + LITEIPC_CLI_PATH +
                                     " --socket " + loader_.socket() + " --pin-root " + loader_.pin_root() +
                                     " call test.cli.outsider 1 s:x i32:1 --reply s,i32 2>&1");
    EXPECT_EQ(status, 0) << out;
}

// Bash completion offers the services of the loader the line names with --socket (not the
// default one), and nothing when that loader is away.
TEST_F(MetadataCliTest, CompletionAsksTheLoaderTheLineNames) {
    ServiceProcess service(loader_.options(), service_named("test.cli.completed"));
    // The completion function run by bash as it runs it on TAB: COMP_WORDS and COMP_CWORD set,
    // bash-completion's _init_completion reduced to what the function reads.
    const std::string script = "/tmp/liteipc-test-complete-" + std::to_string(::getpid()) + ".sh";
    {
        std::ofstream out(script);
        out << "_init_completion() { words=(\"${COMP_WORDS[@]}\"); cword=$COMP_CWORD; cur=${words[cword]};"
               " prev=${words[cword-1]}; }\n"
               "source " LITEIPC_COMPLETION_PATH "\n"
               "COMP_WORDS=(\"$@\"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
               "_liteipc\n"
               "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
    }
    auto complete = [&](const std::string& words) {
        const std::string path = std::filesystem::path(LITEIPC_CLI_PATH).parent_path();
        return run_command("env -u LITEIPC_SOCKET -u LITEIPC_PIN_ROOT PATH=" + path + ":$PATH bash " + script + " " +
                           words + " 2>&1");
    };
    auto [named, status] = complete("liteipc --socket " + loader_.socket() + " status test.cli.c");
    EXPECT_EQ(status, 0) << named;
    EXPECT_EQ(named, "test.cli.completed\n");
    // "--socket=PATH" as bash splits it for completion: --socket, =, PATH.
    std::tie(named, status) = complete("liteipc --socket = " + loader_.socket() + " call test.cli.c");
    EXPECT_EQ(named, "test.cli.completed\n");
    std::tie(named, status) = complete("liteipc monitor --socket " + loader_.socket() + " --service test.cli.c");
    EXPECT_EQ(named, "test.cli.completed\n");
    // Without --socket the default loader is asked (none runs there in a test, or it lacks ours).
    std::tie(named, status) = complete("liteipc status test.cli.c");
    EXPECT_EQ(named.find("test.cli.completed"), std::string::npos) << named;
    // An away loader: nothing, and no error text in the completion.
    std::tie(named, status) = complete("liteipc --socket /nonexistent.sock status test.cli.c");
    EXPECT_EQ(named, "\n") << named;
    ::unlink(script.c_str());
}

}  // namespace
}  // namespace liteipc::testing
