// Errc interoperates with std::error_code.
#include <gtest/gtest.h>

#include <system_error>

#include "liteipc/error.h"

TEST(ErrorCode, ErrcConvertsToAnErrorCodeOfItsOwnCategory) {
    std::error_code ec = liteipc::Errc::dead_object;
    EXPECT_STREQ(ec.category().name(), "liteipc");
    EXPECT_EQ(ec.message(), "dead object");
    EXPECT_EQ(ec, liteipc::Errc::dead_object);
    EXPECT_NE(ec, liteipc::Errc::timed_out);
}

TEST(ErrorCode, PlainPosixMeaningsCompareEqualToStdErrc) {
    EXPECT_EQ(std::error_code(liteipc::Errc::timed_out), std::errc::timed_out);
    EXPECT_EQ(std::error_code(liteipc::Errc::permission_denied), std::errc::permission_denied);
    EXPECT_NE(std::error_code(liteipc::Errc::dead_object), std::errc::timed_out);
}
