// Opens a liteipc context through the installed headers and library.
//   consumer [SOCKET [PIN_ROOT]]
// Exits 0 when it gets a context, or the named loader_unavailable error (no loader running);
// 1 on any other outcome.
#include <cstdio>

#include <liteipc/context.h>
#include <liteipc/error.h>

int main(int argc, char** argv) {
    liteipc::ContextOptions options;
    if (argc > 1) options.socket_path = argv[1];
    if (argc > 2) options.pin_root = argv[2];

    auto context = liteipc::Context::open(options);
    if (context) {
        std::printf("consumer: context open, slot %u, pid %u\n", context->self().slot, context->self().pid);
        return 0;
    }
    std::printf("consumer: %s\n", context.error().describe().c_str());
    return context.error().code == liteipc::Errc::loader_unavailable ? 0 : 1;
}
