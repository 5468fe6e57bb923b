// An echo service written against the C++ API, its interface in IEcho.idl: the generated stub
// reads each request and writes each reply; this file implements the methods.
//
//   echo_service_cpp [--socket PATH] [--pin-root PATH] [--name NAME] [--serve-for SECONDS] [--mediated]
//
// --mediated registers a mediated service: each message passes the kernel, which stamps the
// caller (pid, tid, uid, gid) and re-checks access; code 3 then answers with the kernel's word.
//
// Serves until SIGTERM or SIGINT (or --serve-for), then exits 0. LITEIPC_SOCKET and
// LITEIPC_PIN_ROOT name a private liteipc-loader when the options don't.
//
// Methods (IEcho.idl): Echo a string, Add two int32, Who is calling, Note (oneway) prints a note.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "iecho.h"

namespace {

class EchoService final : public example::EchoStub {
public:
    liteipc::Result<std::string> Echo(const std::string& text) override { return text; }
    liteipc::Result<int32_t> Add(int32_t a, int32_t b) override { return a + b; }
    liteipc::Result<> Who(int32_t& pid, int32_t& uid) override {
        const liteipc::Caller& caller = liteipc::idl::current_call()->caller();
        pid = static_cast<int32_t>(caller.pid);
        uid = static_cast<int32_t>(caller.uid);
        if (caller.mediated)
            std::printf("echo_service_cpp: who from pid %u tid %u uid %u (kernel-stamped)\n", caller.pid, caller.tid,
                        caller.uid);
        return {};
    }
    liteipc::Result<> Note(const std::string& note) override {
        std::printf("echo_service_cpp: note from pid %u: %s\n", liteipc::idl::current_call()->caller().pid, note.c_str());
        std::fflush(stdout);
        return {};
    }
};

}  // namespace

int main(int argc, char** argv) {
    liteipc::ContextOptions options;  // LITEIPC_SOCKET and LITEIPC_PIN_ROOT, unless given below
    std::string name = "example.cpp.echo";
    long serve_for = 0;
    liteipc::Mode mode = liteipc::Mode::direct;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (i + 1 < argc && arg == "--socket") options.socket_path = argv[++i];
        else if (i + 1 < argc && arg == "--pin-root") options.pin_root = argv[++i];
        else if (i + 1 < argc && arg == "--name") name = argv[++i];
        else if (i + 1 < argc && arg == "--serve-for") serve_for = std::strtol(argv[++i], nullptr, 10);
        else if (arg == "--mediated") mode = liteipc::Mode::mediated;
        else {
            std::fprintf(stderr,
                         "usage: %s [--socket PATH] [--pin-root PATH] [--name NAME] [--serve-for SECONDS] [--mediated]\n",
                         argv[0]);
            return 2;
        }
    }

    // Signals are taken synchronously below: block them before any thread starts.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    auto context = liteipc::Context::open(options);
    if (!context) {
        std::fprintf(stderr, "echo_service_cpp: %s\n", context.error().describe().c_str());
        return 1;
    }
    EchoService echo;
    auto service = echo.serve(*context, {.name = name, .mode = mode});
    if (!service) {
        std::fprintf(stderr, "echo_service_cpp: %s\n", service.error().describe().c_str());
        return 1;
    }
    std::printf("echo_service_cpp: serving '%s' (handle %u, pid %d%s)\n", name.c_str(), service->handle(), ::getpid(),
                mode == liteipc::Mode::mediated ? ", mediated" : "");
    std::fflush(stdout);

    int signo = 0;
    if (serve_for > 0) {
        timespec wait{serve_for, 0};
        signo = sigtimedwait(&stop, nullptr, &wait);
    } else {
        sigwait(&stop, &signo);
    }
    std::printf("echo_service_cpp: stopped (%s)\n", signo > 0 ? strsignal(signo) : "--serve-for elapsed");
    return 0;
}
