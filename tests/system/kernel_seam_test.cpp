// The library's kernel seam reads the pinned ABI version before it reads any pinned map: a
// libliteipc meeting a loader of another ABI refuses with Errc::abi_mismatch and says what to do,
// and opens once the versions agree again.
#include <bpf/bpf.h>
#include <unistd.h>

#include <string>

#include "common/mapping.h"
#include "liteipc_abi.h"
#include "loader_fixture.h"

namespace liteipc::testing {
namespace {

class KernelSeamTest : public ::testing::Test {
protected:
    void SetUp() override {
        LITEIPC_REQUIRE_SYSTEM();
        ASSERT_TRUE(loader_.start());
        abi_.reset(bpf_obj_get((loader_.pin_root() + "/abi").c_str()));
        ASSERT_TRUE(abi_) << "no abi pin under " << loader_.pin_root();
    }
    void TearDown() override {
        // Whatever a test did to the pin, the loader's version goes back before the loader is unloaded.
        if (abi_) {
            set_version(LITEIPC_ABI_VERSION);
            (void)bpf_obj_pin(abi_.get(), (loader_.pin_root() + "/abi").c_str());
        }
    }
    void set_version(uint64_t version) {
        const uint32_t key = 0;
        ASSERT_EQ(bpf_map_update_elem(abi_.get(), &key, &version, BPF_ANY), 0);
    }

    Loader loader_{"seam"};
    detail::UniqueFd abi_;
};

TEST_F(KernelSeamTest, AnotherAbiVersionIsRefusedWithTheFix) {
    set_version(LITEIPC_ABI_VERSION + 1);
    auto refused = Context::open(loader_.options());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::abi_mismatch) << refused.error().describe();
    const std::string& message = refused.error().message;
    EXPECT_NE(message.find("ABI version " + std::to_string(LITEIPC_ABI_VERSION + 1) + ", this libliteipc speaks " +
                           std::to_string(LITEIPC_ABI_VERSION)),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("liteipc-loader --unload --pin-root " + loader_.pin_root()), std::string::npos) << message;

    // One version less is refused alike; the loader's own version opens, and the refused tries left
    // nothing registered in the way.
    set_version(LITEIPC_ABI_VERSION - 1);
    auto older = Context::open(loader_.options());
    ASSERT_FALSE(older);
    EXPECT_EQ(older.error().code, Errc::abi_mismatch);
    set_version(LITEIPC_ABI_VERSION);
    auto opened = Context::open(loader_.options());
    ASSERT_TRUE(opened) << opened.error().describe();
    EXPECT_TRUE(opened->alive(opened->self()));
}

TEST_F(KernelSeamTest, MissingAbiVersionIsAbiOne) {
    ASSERT_EQ(::unlink((loader_.pin_root() + "/abi").c_str()), 0);
    auto refused = Context::open(loader_.options());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::abi_mismatch) << refused.error().describe();
    EXPECT_NE(refused.error().message.find("has no ABI version"), std::string::npos) << refused.error().message;
    ASSERT_EQ(bpf_obj_pin(abi_.get(), (loader_.pin_root() + "/abi").c_str()), 0);
    auto opened = Context::open(loader_.options());
    ASSERT_TRUE(opened) << opened.error().describe();
}

}  // namespace
}  // namespace liteipc::testing
