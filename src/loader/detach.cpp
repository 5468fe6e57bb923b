#include "detach.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace liteipc::loader {

Result<Detached> Detached::fork_and_wait() {
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) return fail_errno("pipe for --daemon");
    std::fflush(nullptr);
    pid_t child = ::fork();
    if (child < 0) return fail_errno("fork for --daemon");
    if (child > 0) {
        // The parent: the child's pid once it serves; end of file when it failed (it said why on
        // the stderr we share) or died.
        ::close(report[1]);
        pid_t served = 0;
        ssize_t n;
        while ((n = ::read(report[0], &served, sizeof served)) < 0 && errno == EINTR) {}
        if (n != static_cast<ssize_t>(sizeof served)) {
            std::fprintf(stderr, "liteipc-loader: the background loader (pid %d) did not start\n", static_cast<int>(child));
            std::_Exit(1);
        }
        std::printf("liteipc-loader: serving in the background, pid %d\n", static_cast<int>(served));
        std::fflush(stdout);
        std::_Exit(0);
    }
    ::close(report[0]);
    // A session of its own: the terminal's hangup and job-control signals no longer reach it.
    if (::setsid() < 0) return fail_errno("setsid for --daemon");
    if (::chdir("/") != 0) return fail_errno("chdir / for --daemon");
    return Detached(detail::UniqueFd(report[1]));
}

Result<> Detached::started(const std::string& pidfile) {
    const pid_t self = ::getpid();
    if (!pidfile.empty()) {
        // Written whole under a temporary name, then renamed: a reader never sees half a pid.
        const std::string temporary = pidfile + ".new";
        {
            std::ofstream out(temporary, std::ios::trunc);
            out << self << '\n';
            if (!out.flush()) return fail_errno("write of pidfile " + temporary);
        }
        if (::chmod(temporary.c_str(), 0644) != 0 || ::rename(temporary.c_str(), pidfile.c_str()) != 0) {
            ::unlink(temporary.c_str());
            return fail_errno("pidfile " + pidfile);
        }
    }
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) return fail_errno("open of /dev/null");
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) ::dup2(null, fd);
    ::close(null);
    if (::write(report_.get(), &self, sizeof self) != static_cast<ssize_t>(sizeof self))
        return fail_errno("report to the parent of --daemon");
    report_.reset();
    return {};
}

void remove_pidfile(const std::string& pidfile) {
    if (pidfile.empty()) return;
    std::ifstream in(pidfile);
    long named = 0;
    if (in >> named && named == static_cast<long>(::getpid())) ::unlink(pidfile.c_str());
}

}  // namespace liteipc::loader
