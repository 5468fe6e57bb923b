// A client of the echo service written against the C++ API: a few calls, then exit.
//
//   echo_client_cpp [--socket PATH] [--pin-root PATH] [--name NAME]
//
// Exits 0 when every call succeeded, 1 with the error otherwise.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "liteipc/ipc.h"

namespace {

enum Code : uint32_t { kEcho = 1, kAdd = 2, kWho = 3, kNote = 4 };

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
    auto echo = liteipc::Connection::open(*context, name);
    if (!echo) return fail("connect", echo.error().describe());

    {
        liteipc::Request request(*echo);
        request.writer().write_string("hello from C++");
        auto reply = echo->call(kEcho, request);
        if (!reply) return fail("echo", reply.error().describe());
        std::string text = reply->reader().read_string();
        std::printf("echo_client_cpp: echo -> \"%s\"\n", text.c_str());
        if (text != "hello from C++") return fail("echo", "wrong answer");
    }
    {
        liteipc::Request request(*echo);
        request.writer().write_int32(40);
        request.writer().write_int32(2);
        auto reply = echo->call(kAdd, request);
        if (!reply) return fail("add", reply.error().describe());
        int32_t sum = reply->reader().read_int32();
        std::printf("echo_client_cpp: 40 + 2 -> %d\n", sum);
        if (sum != 42 || reply->status() != 0) return fail("add", "wrong answer");
    }
    {
        liteipc::Request request(*echo);
        auto reply = echo->call(kWho, request);
        if (!reply) return fail("who", reply.error().describe());
        liteipc::Reader reader = reply->reader();
        int32_t pid = reader.read_int32(), uid = reader.read_int32();
        std::printf("echo_client_cpp: the service sees pid %d uid %d (this is pid %d)\n", pid, uid, ::getpid());
        if (pid != ::getpid()) return fail("who", "wrong pid");
    }
    {
        liteipc::Request request(*echo);
        request.writer().write_string("bye");
        if (auto sent = echo->send(kNote, request); !sent) return fail("note", sent.error().describe());
        std::printf("echo_client_cpp: oneway note sent\n");
    }
    return 0;
}
