// Roles of the trust tests' processes of another uid. Each reports one int (0 or the Errc; -1 when
// it could not become that uid); the honest ones exit then, the hostile ones hold what they took
// until the test ends them.
#include <bpf/bpf.h>

#include "liteipc_abi.h"
#include "peer_role.h"
#include "trust_support.h"

namespace liteipc::testing {
namespace {

// Reads the context options and a uid, becomes that uid and opens a context. When it cannot,
// reports -1 (not that uid) or the Errc and returns nothing.
std::optional<Context> context_as(PeerArgs& args) {
    ContextOptions options = read_context_options(args);
    auto uid = static_cast<uid_t>(args.number());
    if (!become_group_member(uid)) {
        report(-1);
        return std::nullopt;
    }
    auto context = Context::open(options);
    if (!context) {
        report(code(context.error().code));
        return std::nullopt;
    }
    return std::move(*context);
}

}  // namespace

// Opens a context as `uid`.
LITEIPC_PEER_ROLE(open_context_as) {
    if (!context_as(args)) return 0;
    return report(0) ? 0 : 101;
}

// Registers the name `name` as `uid` through its context's control socket (no Service).
LITEIPC_PEER_ROLE(register_name_as) {
    auto context = context_as(args);
    if (!context) return 0;
    std::string name = args.text();
    auto registered = context->impl().control(control_request(detail::ControlOp::register_service, 0, name.c_str()));
    return report(registered ? 0 : code(registered.error().code)) ? 0 : 101;
}

// Connects to `name` as `uid` and makes an echo call (-3: a wrong echo).
LITEIPC_PEER_ROLE(echo_as) {
    auto context = context_as(args);
    if (!context) return 0;
    std::string name = args.text();
    auto connection = Connection::open(*context, name);
    if (!connection) return report(code(connection.error().code)) ? 0 : 101;
    return report(echo_works(*connection) ? 0 : -3) ? 0 : 101;
}

// Registers `name` with `policy` (a LITEIPC_POLICY_*) as `uid`, serves nothing, and holds it
// until killed.
LITEIPC_PEER_ROLE(register_and_hold_as) {
    auto context = context_as(args);
    if (!context) return 0;
    std::string name = args.text();
    auto policy = args.number();
    auto request = control_request(detail::ControlOp::register_service, 0, name.c_str());
    request.policy = static_cast<decltype(request.policy)>(policy);
    auto registered = context->impl().control(request);
    report(registered ? 0 : code(registered.error().code));
    for (;;) ::pause();
}

// Runs the connect program for `handle` `count` times as `uid` and never opens a channel: the
// connects the kernel approved stay half set up. Reports how many it approved; holds until killed.
LITEIPC_PEER_ROLE(half_open_connects_as) {
    auto context = context_as(args);
    if (!context) return 0;
    auto handle = static_cast<uint32_t>(args.number());
    auto count = static_cast<int>(args.number());
    int made = 0;
    for (int i = 0; i < count; ++i) {
        liteipc_connect_ctl connect{};
        connect.handle = handle;
        LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &connect, .ctx_size_in = sizeof connect);
        made += bpf_prog_test_run_opts(context->impl().connect_prog, &run) == 0 && connect.result == 0;
    }
    report(made);
    for (;;) ::pause();
}

}  // namespace liteipc::testing
