// Context::open with options left at their defaults finds the loader LITEIPC_SOCKET and
// LITEIPC_PIN_ROOT name, as the C APIs do; without them it goes to the default loader.
#include <cstdlib>

#include "loader_fixture.h"

namespace liteipc::testing {
namespace {

class ContextEnvironmentTest : public WithLoader<> {
protected:
    ContextEnvironmentTest() : WithLoader("ctx-env") {}
    void TearDown() override {
        ::unsetenv("LITEIPC_SOCKET");
        ::unsetenv("LITEIPC_PIN_ROOT");
    }
};

TEST_F(ContextEnvironmentTest, DefaultOptionsUseTheLoaderTheEnvironmentNames) {
    // This process is registered with the private loader (the fixture's context). A second open
    // shares that registration only when it names the same loader; another one is refused.
    ::setenv("LITEIPC_SOCKET", loader_.socket().c_str(), 1);
    ::setenv("LITEIPC_PIN_ROOT", loader_.pin_root().c_str(), 1);
    auto from_environment = Context::open(ContextOptions{});
    ASSERT_TRUE(from_environment) << from_environment.error().describe();
    EXPECT_EQ(from_environment->self(), context_->self());
    EXPECT_TRUE(from_environment->loader_status());

    ::unsetenv("LITEIPC_SOCKET");
    ::unsetenv("LITEIPC_PIN_ROOT");
    auto defaults = Context::open(ContextOptions{});
    ASSERT_FALSE(defaults) << "default options reached the private loader without the environment";
    EXPECT_EQ(defaults.error().code, Errc::already_exists) << defaults.error().describe();

    // The environment names another loader, the program names this one: the program wins.
    ::setenv("LITEIPC_SOCKET", "/nonexistent/liteipc.sock", 1);
    ::setenv("LITEIPC_PIN_ROOT", "/sys/fs/bpf/nonexistent", 1);
    auto explicit_options = Context::open(loader_.options());
    ASSERT_TRUE(explicit_options) << explicit_options.error().describe();
    EXPECT_EQ(explicit_options->self(), context_->self());
}

}  // namespace
}  // namespace liteipc::testing
