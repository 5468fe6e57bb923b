// The log hook: an application routes libliteipc's lines into its own logger.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "liteipc/log.h"
#include "common/log.h"

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

}  // namespace
