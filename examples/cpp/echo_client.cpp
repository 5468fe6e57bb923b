// A client of the echo service through the proxy generated from IEcho.idl: a few calls, then exit.
//
//   echo_client_cpp [--socket PATH] [--pin-root PATH] [--name NAME]
//
// Exits 0 when every call succeeded, 1 with the error otherwise.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "iecho.h"

namespace {

int fail(const char* what, const std::string& why) {
    std::fprintf(stderr, "echo_client_cpp: %s: %s\n", what, why.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    liteipc::ContextOptions options;  // LITEIPC_SOCKET and LITEIPC_PIN_ROOT, unless given below
    std::string name = "example.cpp.echo";
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (i + 1 < argc && arg == "--socket") options.socket_path = argv[++i];
        else if (i + 1 < argc && arg == "--pin-root") options.pin_root = argv[++i];
        else if (i + 1 < argc && arg == "--name") name = argv[++i];
        else {
            std::fprintf(stderr, "usage: %s [--socket PATH] [--pin-root PATH] [--name NAME]\n", argv[0]);
            return 2;
        }
    }

    auto context = liteipc::Context::open(options);
    if (!context) return fail("open context", context.error().describe());
    auto echo = example::EchoProxy::open(*context, name);
    if (!echo) return fail("connect", echo.error().describe());

    auto text = echo->Echo("hello from C++");
    if (!text) return fail("echo", text.error().describe());
    std::printf("echo_client_cpp: echo -> \"%s\"\n", text->c_str());
    if (*text != "hello from C++") return fail("echo", "wrong answer");

    auto sum = echo->Add(40, 2);
    if (!sum) return fail("add", sum.error().describe());
    std::printf("echo_client_cpp: 40 + 2 -> %d\n", *sum);
    if (*sum != 42) return fail("add", "wrong answer");

    int32_t pid = 0, uid = 0;
    if (auto who = echo->Who(pid, uid); !who) return fail("who", who.error().describe());
    std::printf("echo_client_cpp: the service sees pid %d uid %d (this is pid %d)\n", pid, uid, ::getpid());
    if (pid != ::getpid()) return fail("who", "wrong pid");

    if (auto sent = echo->Note("bye"); !sent) return fail("note", sent.error().describe());
    std::printf("echo_client_cpp: oneway note sent\n");
    return 0;
}
