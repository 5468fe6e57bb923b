// The hugepage leak check the crash and chaos tests use (hugepage_holdings.h): a pool that a process
// of the test's tree keeps after its owner died is caught and named, and hugepages another process
// on the host takes are not counted.
#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

#include "hugepage_holdings.h"
#include "test_processes.h"

namespace liteipc::testing {
namespace {

// "begin-end" of this process's first mapping of the memfd `name` ("liteipc-reply"); empty when none.
std::string mapping_range(const char* name) {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line))
        if (line.find(std::string("memfd:") + name) != std::string::npos) return line.substr(0, line.find(' '));
    return {};
}

class HugepageLeakTest : public WithLoader<> {
protected:
    HugepageLeakTest() : WithLoader("hugepages") {}

    // A service in its own process and this process's connection to it: this process maps the
    // service's reply pool. Skips when the host had no hugepages to give the pool.
    void connect_to_a_service() {
        ServiceOptions options;
        options.name = "hugepages.service";
        service_.emplace(loader_.options(), options);
        auto connection = Connection::open(*context_, "hugepages.service");
        ASSERT_TRUE(connection) << connection.error().describe();
        connection_.emplace(std::move(*connection));
        reply_pool_ = mapping_range("liteipc-reply");
        ASSERT_FALSE(reply_pool_.empty()) << "this process maps no reply pool";
        if (!on_hugetlbfs("/proc/self/map_files/" + reply_pool_))
            GTEST_SKIP() << "no hugepages free on this host: the pool fell back to shared memory";
    }

    // The service dies and this process drops its connection.
    void service_dies() {
        service_->end(Ending::sigkill);
        connection_.reset();
        service_.reset();
    }

    std::optional<ServiceProcess> service_;
    std::optional<Connection> connection_;
    std::string reply_pool_;
};

TEST_F(HugepageLeakTest, APoolFdThisProcessKeepsAfterItsServiceDiedIsLeftOver) {
    const auto before = HugetlbHoldings::of_this_process_tree();
    connect_to_a_service();
    if (IsSkipped() || HasFatalFailure()) return;
    const int kept = ::open(("/proc/self/map_files/" + reply_pool_).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(kept, 0) << std::strerror(errno);
    service_dies();
    EXPECT_TRUE(mapping_range("liteipc-reply").empty()) << "the dropped connection still maps the pool";

    const std::string left = hugepages_left_over(before, 1s);
    EXPECT_NE(left.find("/memfd:liteipc-reply"), std::string::npos) << left;
    EXPECT_NE(left.find("pid " + std::to_string(::getpid())), std::string::npos) << left;
    EXPECT_NE(left.find("fd " + std::to_string(kept) + "]"), std::string::npos) << left;

    ::close(kept);
    EXPECT_EQ(hugepages_left_over(before), "");
}

TEST_F(HugepageLeakTest, APoolAnOrphanedProcessOfTheTestStillMapsIsLeftOver) {
    const auto before = HugetlbHoldings::of_this_process_tree();
    connect_to_a_service();
    if (IsSkipped() || HasFatalFailure()) return;

    // A grandchild that inherits this process's mappings, pools included, and keeps them until
    // its command pipe closes; its parent exits at once, so it lives on as an orphan.
    int command[2], report[2];
    ASSERT_EQ(::pipe2(command, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
    const bool forked = fork_orphan([&] {
        ::close(command[1]);
        const pid_t self = ::getpid();
        if (::write(report[1], &self, sizeof self) != sizeof self) return 1;
        char end;
        while (::read(command[0], &end, 1) < 0 && errno == EINTR) {}
        return 0;
    });
    ::close(command[0]);
    ::close(report[1]);
    ASSERT_TRUE(forked);
    pid_t orphan = -1;
    const bool reported = ::read(report[0], &orphan, sizeof orphan) == sizeof orphan;
    ::close(report[0]);
    ASSERT_TRUE(reported);

    service_dies();
    const std::string left = hugepages_left_over(before, 1s);
    EXPECT_NE(left.find("/memfd:liteipc-reply"), std::string::npos) << left;
    EXPECT_NE(left.find("pid " + std::to_string(orphan) + " "), std::string::npos) << left;

    // Ended by its pipe, and reaped here: this process is its subreaper.
    ::close(command[1]);
    EXPECT_EQ(::waitpid(orphan, nullptr, 0), orphan);
    EXPECT_EQ(hugepages_left_over(before), "");
}

// Another user of the host: the grandchild of a child that exited while this process was no
// subreaper, so it was reparented out of this process's tree. It takes hugepages once told to.
class Outsider {
public:
    Outsider() {
        const int was_subreaper = [] {
            int value = 0;
            ::prctl(PR_GET_CHILD_SUBREAPER, &value);
            return value;
        }();
        ::prctl(PR_SET_CHILD_SUBREAPER, 0);
        int command[2], report[2];
        if (::pipe2(command, O_CLOEXEC) != 0 || ::pipe2(report, O_CLOEXEC) != 0) return;
        fork_orphan([&]() -> int {
            ::close(command[1]);  // or its command pipe never closes
            ::close(report[0]);
            run(command[0], report[1]);
        });
        ::close(command[0]);
        ::close(report[1]);
        ::prctl(PR_SET_CHILD_SUBREAPER, was_subreaper);
        command_ = command[1];
        report_ = report[0];
        if (::read(report_, &pid_, sizeof pid_) != sizeof pid_) pid_ = -1;
    }
    ~Outsider() {
        // It ends when its command pipe closes; its new parent reaps it.
        if (command_ >= 0) ::close(command_);
        if (report_ >= 0) ::close(report_);
    }
    pid_t pid() const { return pid_; }
    // Maps `pages` shared anonymous hugepages and touches each; false when the host had none.
    bool take_hugepages(char pages) {
        char taken = 0;
        return ::write(command_, &pages, 1) == 1 && ::read(report_, &taken, 1) == 1 && taken == 1;
    }

private:
    [[noreturn]] static void run(int command, int report) {
        const pid_t self = ::getpid();
        if (::write(report, &self, sizeof self) != sizeof self) ::_exit(1);
        char pages = 0;
        while (::read(command, &pages, 1) == 1) {
            const std::size_t size = static_cast<std::size_t>(pages) << 21;
            void* memory = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
            char taken = memory != MAP_FAILED;
            for (std::size_t at = 0; taken && at < size; at += 2u << 20) static_cast<char*>(memory)[at] = 1;
            if (::write(report, &taken, 1) != 1) break;
        }
        ::_exit(0);
    }
    pid_t pid_ = -1;
    int command_ = -1, report_ = -1;
};

TEST(HugepageHoldings, HugepagesAProcessOutsideTheTestTakesDoNotCount) {
    LITEIPC_REQUIRE_SYSTEM();
    Outsider outsider;
    ASSERT_GT(outsider.pid(), 0);
    const auto tree = process_tree(::getpid());
    ASSERT_EQ(std::count(tree.begin(), tree.end(), outsider.pid()), 0) << "the outsider is in this test's tree";
    const auto before = HugetlbHoldings::of_this_process_tree();
    const auto outsiders_before = HugetlbHoldings::of_process_tree(outsider.pid());
    if (!outsider.take_hugepages(2)) GTEST_SKIP() << "no hugepages free on this host";

    // The outsider holds them, and this test's tree holds nothing more.
    const auto outsiders = HugetlbHoldings::of_process_tree(outsider.pid());
    EXPECT_EQ(outsiders.pages() - outsiders_before.pages(), 2) << outsiders.beyond(outsiders_before);
    EXPECT_EQ(HugetlbHoldings::of_this_process_tree().beyond(before), "");
}

}  // namespace
}  // namespace liteipc::testing
