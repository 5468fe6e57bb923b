// The log hook: an application routes libliteipc's lines into its own logger; and the daemons'
// way of doing so, stderr with each line's priority when stderr is the journal.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "liteipc/log.h"
#include "common/log.h"
#include "common/stderr_log.h"

namespace {

struct Captured {
    liteipc::LogLevel level;
    std::string line;
};

class LogHookTest : public ::testing::Test {
protected:
    void SetUp() override {
        liteipc::set_log_level(liteipc::LogLevel::info);
        liteipc::set_log_handler([this](liteipc::LogLevel level, std::string_view line) {
            std::lock_guard lock(mutex_);
            lines_.push_back({level, std::string(line)});
        });
    }
    void TearDown() override {
        liteipc::set_log_handler({});
        liteipc::set_log_level(liteipc::LogLevel::warn);
    }
    std::vector<Captured> lines() {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    std::mutex mutex_;
    std::vector<Captured> lines_;
};

TEST_F(LogHookTest, LinesReachTheHandlerWithTheirLevel) {
    LITEIPC_LOG(warn, "slot %u: bad length %d", 3u, 77);
    auto got = lines();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].level, liteipc::LogLevel::warn);
    EXPECT_NE(got[0].line.find("warn log_test.cpp:"), std::string::npos) << got[0].line;
    EXPECT_NE(got[0].line.find("slot 3: bad length 77"), std::string::npos) << got[0].line;
    EXPECT_EQ(got[0].line.find('\n'), std::string::npos);
}

TEST_F(LogHookTest, LinesBelowTheLevelAreDropped) {
    LITEIPC_LOG(debug, "not wanted");
    liteipc::set_log_level(liteipc::LogLevel::error);
    LITEIPC_LOG(warn, "not wanted either");
    LITEIPC_LOG(error, "wanted");
    auto got = lines();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].level, liteipc::LogLevel::error);
}

TEST_F(LogHookTest, AThrowingHandlerDoesNotEscape) {
    liteipc::set_log_handler([](liteipc::LogLevel, std::string_view) { throw std::runtime_error("logger down"); });
    EXPECT_NO_THROW(LITEIPC_LOG(error, "into a broken logger"));
}

// common/stderr_log.h, as liteipc-loader and liteipc-bridge use it, with stderr on a file.
class StderrLogTest : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/liteipc-stderr-log-XXXXXX";
        const int file = ::mkstemp(pattern);
        ASSERT_GE(file, 0);
        path_ = pattern;
        saved_stderr_ = ::dup(STDERR_FILENO);
        ASSERT_GE(::dup2(file, STDERR_FILENO), 0);
        ::close(file);
        liteipc::set_log_level(liteipc::LogLevel::info);
        // A second of the rate limit of its own: tests run before may have used this one's.
        timespec start{}, now{};
        clock_gettime(CLOCK_MONOTONIC_COARSE, &start);
        do {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
        } while (now.tv_sec == start.tv_sec);
    }
    void TearDown() override {
        liteipc::set_log_handler({});
        liteipc::set_log_level(liteipc::LogLevel::warn);
        ::unsetenv("JOURNAL_STREAM");
        if (saved_stderr_ >= 0) {
            ::dup2(saved_stderr_, STDERR_FILENO);
            ::close(saved_stderr_);
        }
        if (!path_.empty()) ::unlink(path_.c_str());
    }
    // JOURNAL_STREAM as systemd sets it when stderr is the journal: stderr's device:inode.
    void name_stderr_the_journal() const {
        struct stat st{};
        ASSERT_EQ(::fstat(STDERR_FILENO, &st), 0);
        ::setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)).c_str(), 1);
    }
    std::vector<std::string> written() const {
        std::ifstream in(path_);
        std::vector<std::string> lines;
        for (std::string line; std::getline(in, line);) lines.push_back(line);
        return lines;
    }
    std::string path_;
    int saved_stderr_ = -1;
};

TEST_F(StderrLogTest, PlainLinesUnlessStderrIsTheJournal) {
    ::unsetenv("JOURNAL_STREAM");
    liteipc::detail::log_to_stderr({});
    LITEIPC_LOG(warn, "on a terminal %d", 1);
    ::setenv("JOURNAL_STREAM", "1:2", 1);  // inherited, naming another stream
    liteipc::detail::log_to_stderr([] { return std::string("daemon[1] role: "); });
    LITEIPC_LOG(info, "elsewhere %d", 2);
    auto lines = written();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].rfind("warn log_test.cpp:", 0), 0u) << lines[0];
    EXPECT_NE(lines[0].find(": on a terminal 1"), std::string::npos) << lines[0];
    EXPECT_EQ(lines[1].rfind("daemon[1] role: info log_test.cpp:", 0), 0u) << lines[1];
}

TEST_F(StderrLogTest, EachLineLedByItsPriorityWhenStderrIsTheJournal) {
    name_stderr_the_journal();
    liteipc::detail::log_to_stderr([] { return std::string("daemon[1] role: "); });
    LITEIPC_LOG(debug, "below the level");
    LITEIPC_LOG(info, "info");
    LITEIPC_LOG(warn, "warn");
    LITEIPC_LOG(error, "error %s", "line");
    auto lines = written();
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].rfind("<6>daemon[1] role: info log_test.cpp:", 0), 0u) << lines[0];
    EXPECT_EQ(lines[1].rfind("<4>daemon[1] role: warn log_test.cpp:", 0), 0u) << lines[1];
    EXPECT_EQ(lines[2].rfind("<3>daemon[1] role: error log_test.cpp:", 0), 0u) << lines[2];
    EXPECT_NE(lines[2].find(": error line"), std::string::npos) << lines[2];
}

}  // namespace
