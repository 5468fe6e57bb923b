// The loader as a systemd Type=notify service: readiness, reloads and stopping reach the
// notification socket systemd would give it, and SIGTERM leaves no socket behind.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "loader_fixture.h"

namespace liteipc::testing {
namespace {

// A datagram socket standing in for systemd's NOTIFY_SOCKET.
class NotifySocket {
public:
    NotifySocket() : path_("/tmp/liteipc-test-systemd-notify-" + std::to_string(::getpid()) + ".sock") {
        ::unlink(path_.c_str());
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path_.c_str());
        bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    }
    ~NotifySocket() {
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    bool bound() const { return bound_; }
    const std::string& path() const { return path_; }

    // Reads notifications until one contains `wanted` (up to 10 s); returns all it read.
    std::string wait_for(const std::string& wanted) {
        std::string seen;
        for (int waited = 0; waited < 100; ++waited) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) != 1) continue;
            char buffer[512];
            ssize_t n = ::recv(fd_, buffer, sizeof buffer - 1, 0);
            if (n <= 0) continue;
            seen.append(buffer, static_cast<std::size_t>(n)).append("|");
            if (std::string(buffer, static_cast<std::size_t>(n)).find(wanted) != std::string::npos) return seen;
        }
        return seen + "(no " + wanted + ")";
    }

private:
    std::string path_;
    int fd_ = -1;
    bool bound_ = false;
};

TEST(SystemdTest, LoaderNotifiesReadyReloadingAndStoppingAndRemovesItsSocket) {
    LITEIPC_REQUIRE_SYSTEM();
    NotifySocket notify;
    ASSERT_TRUE(notify.bound());
    ::setenv("NOTIFY_SOCKET", notify.path().c_str(), 1);
    Loader loader("notify");
    auto started = loader.start();
    ::unsetenv("NOTIFY_SOCKET");
    ASSERT_TRUE(started);

    std::string seen = notify.wait_for("READY=1");
    EXPECT_NE(seen.find("READY=1"), std::string::npos) << seen;

    ASSERT_EQ(::kill(loader.pid(), SIGHUP), 0);
    seen = notify.wait_for("RELOADING=1");
    EXPECT_NE(seen.find("RELOADING=1"), std::string::npos) << seen;
    seen = notify.wait_for("READY=1");
    EXPECT_NE(seen.find("READY=1"), std::string::npos) << "a reload ends with READY=1 again: " << seen;

    loader.stop();
    seen = notify.wait_for("STOPPING=1");
    EXPECT_NE(seen.find("STOPPING=1"), std::string::npos) << seen;
    EXPECT_NE(::access(loader.socket().c_str(), F_OK), 0) << "SIGTERM leaves " << loader.socket() << " behind";
}

}  // namespace
}  // namespace liteipc::testing
