// The fixture of the older C API's tests: a private loader that OpenLiteIpc finds through the
// environment, and this process's context on it.
#pragma once

#include <cstdlib>

#include "c_api_processes.h"
#include "liteipc_adapter.h"
#include "loader_fixture.h"

namespace liteipc::testing {

// A private loader, named to OpenLiteIpc (and the newer C API) through the environment.
class CApiTest : public ::testing::Test {
protected:
    explicit CApiTest(const char* tag) : loader_(tag) {}
    void SetUp() override {
        LITEIPC_REQUIRE_SYSTEM();
        ASSERT_TRUE(loader_.start());
        ::setenv("LITEIPC_SOCKET", loader_.socket().c_str(), 1);
        ::setenv("LITEIPC_PIN_ROOT", loader_.pin_root().c_str(), 1);
    }
    void TearDown() override {
        if (context_ != nullptr) CloseLiteIpc(context_);
        ::unsetenv("LITEIPC_SOCKET");
        ::unsetenv("LITEIPC_PIN_ROOT");
    }
    // This process's context; opened after the children are forked.
    IpcContext* open() {
        if (context_ == nullptr) context_ = OpenLiteIpc(LITEIPC_DEFAULT_MAP_SIZE);
        EXPECT_NE(context_, nullptr);
        return context_;
    }

    Loader loader_;
    IpcContext* context_ = nullptr;
};

}  // namespace liteipc::testing
