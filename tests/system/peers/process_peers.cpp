// Roles of the system tests' peer processes that live until the test ends them: a service, a
// registered member, a client with a call in flight, a process that closes its context.
#include "api/context_impl.h"
#include "peer_role.h"
#include "test_processes.h"

namespace liteipc::testing {
namespace {

// Waits for the Ending to die by; the test closing its end (it is gone) ends the peer too.
[[noreturn]] void end_when_told() {
    Ending ending;
    if (!receive(ending)) ::_exit(102);
    end_as(ending);
}

}  // namespace

// A service answering test_processes.h's codes. Reports 1 once it serves, 0 if it cannot.
LITEIPC_PEER_ROLE(service) {
    no_core_dumps();
    ContextOptions context_options = read_context_options(args);
    ServiceOptions options = read_service_options(args);
    auto context = Context::open(context_options);
    if (!context) {
        std::fprintf(stderr, "service peer: %s\n", context.error().describe().c_str());
        report(0);
        return 100;
    }
    g_service_context = &*context;
    auto service = Service::start(*context, options, handle);
    if (!service) std::fprintf(stderr, "service peer: %s\n", service.error().describe().c_str());
    report(service ? 1 : 0);
    if (!service) return 101;
    end_when_told();
}

// A registered process (or, with register 0, one that never opens a context): reports its
// PeerId, waits for a byte, then ends as its command line says (sigkill: waits for the signal).
LITEIPC_PEER_ROLE(member) {
    no_core_dumps();
    ContextOptions options = read_context_options(args);
    bool register_it = args.number() != 0;
    auto ending = static_cast<Ending>(args.number());
    // Kept for the life of the process however it ends: exit() from a worker runs no destructor
    // of it (that would be an orderly close, not a death).
    static Context* context = nullptr;
    PeerId self{};
    if (register_it) {
        auto opened = Context::open(options);
        if (!opened) return 100;
        context = new Context(std::move(*opened));
        self = context->self();
    }
    if (!report(self)) return 101;
    char go;
    if (!receive(go)) return 102;
    end_as(ending);
}

// A client of `name` with a long call in flight on another thread; reports its PeerId, then ends
// as told.
LITEIPC_PEER_ROLE(client_with_call_in_flight) {
    no_core_dumps();
    ContextOptions options = read_context_options(args);
    std::string name = args.text();
    static Context* context = nullptr;  // never destroyed, as in the member role
    static Connection* conn = nullptr;
    auto opened = Context::open(options);
    if (!opened) return 100;
    context = new Context(std::move(*opened));
    auto connected = Connection::open(*context, name);
    if (!connected) return 101;
    conn = new Connection(std::move(*connected));
    PeerId self = context->self();
    if (!report(self)) return 101;
    std::thread([] {
        Request request(*conn);
        request.writer().write_int32(500);
        (void)conn->call(kSleep, request, 30s);
    }).detach();
    end_when_told();
}

// Registers, reports its PeerId, closes its context when told and lives on until killed.
LITEIPC_PEER_ROLE(close_context_and_live) {
    ContextOptions options = read_context_options(args);
    auto context = Context::open(options);
    if (!context) return 100;
    PeerId self = context->self();
    if (!report(self)) return 101;
    char go;
    if (!receive(go)) return 102;
    { Context gone = std::move(*context); }
    for (;;) ::pause();
}

// Registers a service name through the control socket (no Service, so no connect is ever
// served), reports its handle (0 on failure) and waits to be killed.
LITEIPC_PEER_ROLE(register_and_wait) {
    ContextOptions options = read_context_options(args);
    std::string name = args.text();
    auto context = Context::open(options);
    uint32_t handle = 0;
    if (context) {
        detail::ControlRequest request{};
        request.op = detail::ControlOp::register_service;
        std::snprintf(request.name, sizeof request.name, "%s", name.c_str());
        if (auto r = context->impl().control(request)) handle = r->reply.handle;
    }
    if (!report(handle)) return 101;
    for (;;) ::pause();
}

}  // namespace liteipc::testing
