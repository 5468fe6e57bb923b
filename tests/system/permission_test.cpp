// An unprivileged member of the liteipc group can use liteipc but cannot write the process
// table, create maps, register processes, or reach another process's inbox.
#include <bpf/bpf.h>
#include <grp.h>

#include "liteipc_abi.h"
#include "peers/permission_checks.h"

namespace liteipc::testing {
namespace {


TEST(PermissionTest, UnprivilegedGroupMemberCanUseButNotTamper) {
    LITEIPC_REQUIRE_SYSTEM();
    group* liteipc_group = ::getgrnam("liteipc");
    if (!liteipc_group) {
        if (bpf_required()) FAIL() << "group liteipc missing (scripts/setup-env.sh creates it)";
        GTEST_SKIP() << "group liteipc missing";
    }
    Loader loader("perm");
    ASSERT_TRUE(loader.start());
    auto self = Context::open(loader.options());
    ASSERT_TRUE(self) << self.error().describe();

    // This process's inbox: the one the unprivileged child must not reach.
    int inboxes = bpf_obj_get((loader.pin_root() + "/inboxes").c_str());
    ASSERT_GE(inboxes, 0);
    uint32_t slot = self->self().slot, inbox_id = 0;
    ASSERT_EQ(bpf_map_lookup_elem(inboxes, &slot, &inbox_id), 0);
    ::close(inboxes);

    auto [passed] = run_peer<1>("unprivileged_checks", peer_args(loader.options(), inbox_id));
    EXPECT_TRUE(passed & opened) << "an unprivileged group member must be able to open a context";
    EXPECT_TRUE(passed & reads_table) << "must read the process table";
    EXPECT_TRUE(passed & cannot_update_table) << "wrote the process table";
    EXPECT_TRUE(passed & cannot_map_table_writable) << "mapped the process table writable";
    EXPECT_TRUE(passed & cannot_create_maps) << "created a BPF map";
    EXPECT_TRUE(passed & cannot_open_inboxes) << "opened the inboxes map";
    EXPECT_TRUE(passed & cannot_open_other_inbox) << "opened another process's inbox";
    EXPECT_TRUE(passed & cannot_open_proc_ctl) << "opened the registration program";
}

}  // namespace
}  // namespace liteipc::testing
