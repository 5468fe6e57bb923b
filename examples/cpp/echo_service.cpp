// An echo service written against the C++ API (liteipc/ipc.h).
//
//   echo_service_cpp [--socket PATH] [--pin-root PATH] [--name NAME] [--serve-for SECONDS] [--mediated]
//
// --mediated registers a mediated service: each message passes the kernel, which stamps the
// caller (pid, tid, uid, gid) and re-checks access; code 3 then answers with the kernel's word.
//
// Serves until SIGTERM or SIGINT (or --serve-for), then exits 0. LITEIPC_SOCKET and
// LITEIPC_PIN_ROOT name a private liteipc-loader when the options don't.
//
// Codes: 1 echo a string, 2 add two int32, 3 who is calling, 4 (oneway) print a note.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "liteipc/ipc.h"

namespace {

enum Code : uint32_t { kEcho = 1, kAdd = 2, kWho = 3, kNote = 4 };

int32_t handle(liteipc::Call& call) {
    liteipc::Reader& request = call.request();
    switch (call.code()) {
        case kEcho:
            call.reply().write_string(request.read_string_view());
            break;
        case kAdd: {
            int32_t a = request.read_int32();
            int32_t b = request.read_int32();
            call.reply().write_int32(a + b);
            break;
        }
        case kWho:
            call.reply().write_int32(static_cast<int32_t>(call.caller().pid));
            call.reply().write_int32(static_cast<int32_t>(call.caller().uid));
            if (call.caller().mediated) std::printf("echo_service_cpp: who from pid %u tid %u uid %u (kernel-stamped)\n",
                                                    call.caller().pid, call.caller().tid, call.caller().uid);
            break;
        case kNote: {
            std::string_view note = request.read_string_view();
            std::printf("echo_service_cpp: note from pid %u: %.*s\n", call.caller().pid, static_cast<int>(note.size()),
                        note.data());
            std::fflush(stdout);
            return 0;
        }
        default:
            return -1;
    }
    return request.ok() ? 0 : -1;
}

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
    auto service = liteipc::Service::start(*context, {.name = name, .mode = mode}, handle);
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
