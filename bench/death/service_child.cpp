#include "service_child.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "liteipc/context.h"
#include "liteipc/ipc.h"

namespace liteipc::bench::death {

using namespace std::chrono_literals;

void service_child_main(char** argv) {
    pid_t parent = static_cast<pid_t>(std::atoi(argv[5]));
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    int fd = std::atoi(argv[4]);
    ContextOptions options;
    options.socket_path = argv[2];
    options.pin_root = argv[3];
    options.default_timeout = 5000ms;
    auto opened = Context::open(options);
    if (!opened) {
        std::fprintf(stderr, "child %d: Context::open: %s\n", ::getpid(), opened.error().describe().c_str());
        ::_exit(2);
    }
    // Kept for the life of the process: it ends only by SIGKILL.
    auto* context = new Context(std::move(*opened));
    auto service = Service::start(*context, ServiceOptions{.name = argv[6], .workers = 1}, [fd](Call& call) -> int32_t {
        if (call.code() != 1) return 0;
        char in_flight = 'c';
        if (::write(fd, &in_flight, 1) != 1) ::_exit(5);
        std::this_thread::sleep_for(30s);
        return 0;
    });
    if (!service) {
        std::fprintf(stderr, "child %d: Service::start(%s): %s\n", ::getpid(), argv[6], service.error().describe().c_str());
        ::_exit(4);
    }
    new Service(std::move(*service));
    PeerId self = context->self();
    if (::write(fd, &self, sizeof self) != static_cast<ssize_t>(sizeof self)) ::_exit(3);
    for (;;) ::pause();
}

}  // namespace liteipc::bench::death
