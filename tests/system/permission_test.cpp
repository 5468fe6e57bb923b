// An unprivileged member of the liteipc group can use liteipc but cannot write the process
// table, create maps, register processes, or reach another process's inbox.
#include <bpf/bpf.h>
#include <grp.h>
#include <sys/mman.h>

#include "liteipc_abi.h"
#include "test_processes.h"

namespace liteipc::testing {
namespace {


enum Check : int {
    opened = 1 << 0,
    reads_table = 1 << 1,
    cannot_update_table = 1 << 2,
    cannot_map_table_writable = 1 << 3,
    cannot_create_maps = 1 << 4,
    cannot_open_inboxes = 1 << 5,
    cannot_open_other_inbox = 1 << 6,
    cannot_open_proc_ctl = 1 << 7,
};

int run_unprivileged(const ContextOptions& options, uint32_t other_inbox_id) {
    if (!become_group_member()) return 0;
    int passed = 0;
    auto context = Context::open(options);
    if (!context) {
        std::fprintf(stderr, "unprivileged open: %s\n", context.error().describe().c_str());
        return passed;
    }
    passed |= opened;
    if (context->alive(context->self())) passed |= reads_table;

    int procs = bpf_obj_get((options.pin_root + "/procs").c_str());
    liteipc_proc forged{};
    forged.state = LITEIPC_PROC_ALIVE;
    forged.generation = 12345;
    uint32_t slot = context->self().slot;
    if (procs >= 0 && bpf_map_update_elem(procs, &slot, &forged, BPF_ANY) != 0) passed |= cannot_update_table;
    void* writable = ::mmap(nullptr, sizeof(liteipc_proc) * LITEIPC_MAX_PROCS, PROT_READ | PROT_WRITE, MAP_SHARED,
                            procs, 0);
    if (procs >= 0 && writable == MAP_FAILED) passed |= cannot_map_table_writable;

    if (bpf_map_create(BPF_MAP_TYPE_ARRAY, "forged", 4, 4, 1, nullptr) < 0) passed |= cannot_create_maps;
    if (bpf_obj_get((options.pin_root + "/inboxes").c_str()) < 0) passed |= cannot_open_inboxes;
    if (bpf_map_get_fd_by_id(other_inbox_id) < 0) passed |= cannot_open_other_inbox;
    if (bpf_obj_get((options.pin_root + "/proc_ctl").c_str()) < 0) passed |= cannot_open_proc_ctl;
    return passed;
}

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

    auto [passed] = in_child<1>([&] {
        return std::array<int, 1>{run_unprivileged(loader.options(), inbox_id)};
    });
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
