// A peer process for the C API tests: forked, set up, then serving until the test kills it.
#pragma once

#include <functional>

#include "owned_process.h"
#include "test_processes.h"

namespace liteipc::testing {

class ChildProcess : public OwnedProcess {
public:
    // `setup` runs first in the child (its result is reported back); then `serve`, until killed.
    ChildProcess(const std::function<bool()>& setup, const std::function<void()>& serve) {
        const std::string ok = start(
            [&](int report) {
                unmap_inherited_pools();
                const char result = setup() ? 'y' : 'n';
                if (::write(report, &result, 1) != 1) ::_exit(101);
                serve();
            },
            1);
        EXPECT_EQ(ok, "y") << "the child's setup failed";
    }
};

}  // namespace liteipc::testing
