// liteipc-bridge's log lines, its own and libliteipc's inside it: plain on a terminal or in a file,
// led by their syslog priority when stderr is the journal (JOURNAL_STREAM names stderr's
// device:inode, as systemd sets it). No root: the bridge runs against a loader socket nobody
// serves, so libliteipc logs that it cannot reach the loader and the bridge that it has no context.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "spawned.h"

namespace liteipc::testing {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

class BridgeLogTest : public ::testing::Test {
protected:
    BridgeLogTest() {
        char pattern[] = "/tmp/liteipc-bridge-log-XXXXXX";
        dir_ = ::mkdtemp(pattern) ? pattern : "";
        config_ = dir_ + "/bridge.json";
        std::ofstream(config_) << R"({"socket": ")" << dir_ << R"(/nobody.sock",
                                     "pin_root": ")" << dir_ << R"(/pins",
                                     "tls": {"ca": "ca.pem", "cert": "cert.pem", "key": "key.pem"}})";
    }
    ~BridgeLogTest() override {
        ::unsetenv("JOURNAL_STREAM");
        quiet("rm -rf '" + dir_ + "'");
    }
    void SetUp() override {
        ASSERT_FALSE(dir_.empty());
        ::unsetenv("LITEIPC_LOG_LEVEL");  // the bridge's own default
    }

    // Runs the bridge with stderr into a fresh file; JOURNAL_STREAM is `journal_stream` (may name
    // that very file, then filled in) or unset when empty. Its lines, after it exited with 1.
    std::vector<std::string> run_bridge(const std::string& journal_stream, const std::string& name) {
        const std::string output = dir_ + "/" + name + ".log";
        std::ofstream{output};
        struct stat st{};
        EXPECT_EQ(::stat(output.c_str(), &st), 0);
        const std::string stream = journal_stream == "stderr"
                                       ? std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)
                                       : journal_stream;
        if (stream.empty()) ::unsetenv("JOURNAL_STREAM");
        else ::setenv("JOURNAL_STREAM", stream.c_str(), 1);
        Spawned bridge({LITEIPC_BRIDGE_PATH, "--config", config_}, output);
        pid_ = bridge.pid();
        const int status = bridge.wait();
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << "status " << status << "\n" << read_text(output);
        return lines_of(read_text(output));
    }

    // "liteipc-bridge[pid] bridge: " as the bridge leads each line of the run last made.
    std::string lead() const { return "liteipc-bridge[" + std::to_string(pid_) + "] bridge: "; }
    // libliteipc's line at info, from whichever of its files says it cannot reach the loader.
    std::string library_line() const { return "info "; }
    std::string unreachable() const { return ": cannot reach liteipc-loader at " + dir_ + "/nobody.sock"; }
    static std::string bridge_line() { return "error main.cpp:"; }

    // The line of `lines` that holds `what`; empty when none does.
    static std::string line_with(const std::vector<std::string>& lines, const std::string& what) {
        for (const auto& line : lines)
            if (line.find(what) != std::string::npos) return line;
        return {};
    }

    std::string dir_;
    std::string config_;
    pid_t pid_ = -1;
};

TEST_F(BridgeLogTest, PlainLinesWhenStderrIsNotTheJournal) {
    for (const std::string stream : {"", "1:2"}) {  // unset, or inherited along with another stderr
        SCOPED_TRACE("JOURNAL_STREAM=" + stream);
        const auto lines = run_bridge(stream, stream.empty() ? "unset" : "other");
        ASSERT_GE(lines.size(), 2u);
        for (const auto& line : lines) {
            EXPECT_NE(line[0], '<') << "a priority on a line not for the journal: " << line;
            EXPECT_EQ(line.rfind(lead(), 0), 0u) << line;
        }
        const std::string library = line_with(lines, unreachable());
        EXPECT_EQ(library.rfind(lead() + library_line(), 0), 0u) << "libliteipc's line, as the bridge's: " << library;
        const std::string own = line_with(lines, "liteipc context: ");
        EXPECT_EQ(own.rfind(lead() + bridge_line(), 0), 0u) << own;
    }
}

TEST_F(BridgeLogTest, PrioritiesWhenStderrIsTheJournal) {
    const auto lines = run_bridge("stderr", "journal");
    ASSERT_GE(lines.size(), 2u);
    for (const auto& line : lines) EXPECT_EQ(line[0], '<') << "a line without its priority: " << line;
    // LOG_INFO for libliteipc's line, LOG_ERR for the bridge's own.
    const std::string library = line_with(lines, unreachable());
    EXPECT_EQ(library.rfind("<6>" + lead() + library_line(), 0), 0u) << library;
    const std::string own = line_with(lines, "liteipc context: ");
    EXPECT_EQ(own.rfind("<3>" + lead() + bridge_line(), 0), 0u) << own;
}

TEST_F(BridgeLogTest, TheLevelChoosesTheLinesAsForTheLibrary) {
    ::setenv("LITEIPC_LOG_LEVEL", "error", 1);
    const auto lines = run_bridge("stderr", "error-level");
    ::unsetenv("LITEIPC_LOG_LEVEL");
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].rfind("<3>" + lead() + bridge_line(), 0), 0u) << lines[0];
}

}  // namespace
}  // namespace liteipc::testing
