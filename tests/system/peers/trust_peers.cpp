// Roles of the trust tests' processes of another uid. Each reports one int (0 or the Errc; -1 when
// it could not become that uid), or its results when it has several; the honest ones exit then,
// the hostile ones hold what they took until the test ends them.
#include <bpf/bpf.h>
#include <sys/prctl.h>

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

PeerId read_peer_id(PeerArgs& args) {
    PeerId peer;
    peer.slot = static_cast<uint32_t>(args.number());
    peer.generation = args.number();
    peer.pid = static_cast<uint32_t>(args.number());
    return peer;
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

// Opens a context as `uid`, reports 0, and when told connects to `name` and makes an echo call
// (-3: a wrong echo): a process the test grants access to by its pid in between.
LITEIPC_PEER_ROLE(echo_when_told_as) {
    auto context = context_as(args);
    if (!context) return 0;
    std::string name = args.text();
    if (!report(0)) return 101;
    char go;
    if (!receive(go)) return 102;
    auto connection = Connection::open(*context, name);
    if (!connection) return report(code(connection.error().code)) ? 0 : 101;
    return report(echo_works(*connection) ? 0 : -3) ? 0 : 101;
}

// Serves echo calls under `name` as `uid`, open to anyone; reports 0 (or the Errc) once it
// serves, then, for each byte the test sends, the number of calls it has received so far.
LITEIPC_PEER_ROLE(serve_echo_as) {
    auto context = context_as(args);
    if (!context) return 0;
    static std::atomic<int> calls{0};
    ServiceOptions options{.name = args.text(), .policy = Policy::anyone};
    auto service = Service::start(*context, options, [](Call& call) {
        ++calls;
        return handle(call);
    });
    if (!report(service ? 0 : code(service.error().code)) || !service) return 0;
    for (char ask; receive(ask);)
        if (!report(calls.load())) return 101;
    return 0;
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

// Registers `name` (anyone may connect) as `uid`, then adds uids 1000, 1001, ... to it, up to
// `count` grants; reports {0 or the Errc of the register, grants made, Errc of the first refused
// grant or 0}, and holds everything until killed.
LITEIPC_PEER_ROLE(register_and_grant_as) {
    auto context = context_as(args);
    if (!context) return 0;
    std::string name = args.text();
    auto count = static_cast<int>(args.number());
    std::array<int, 3> out{-1, 0, 0};
    auto request = control_request(detail::ControlOp::register_service, 0, name.c_str());
    request.policy = LITEIPC_POLICY_ANYONE;
    auto registered = context->impl().control(request);
    out[0] = registered ? 0 : code(registered.error().code);
    for (int i = 0; registered && i < count; ++i) {
        auto grant = control_request(detail::ControlOp::add_uid, registered->reply.handle);
        grant.id = 1000 + static_cast<uint32_t>(i);
        auto granted = context->impl().control(grant);
        if (!granted) {
            out[2] = code(granted.error().code);
            break;
        }
        ++out[1];
    }
    report(out);
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
        made += bpf_prog_test_run_opts(context->impl().kernel().connect_program_fd(), &run) == 0 && connect.result == 0;
    }
    report(made);
    for (;;) ::pause();
}

namespace {

// Fills each table as this process's uid and returns the error of the first request past each
// quota (QuotaTable order). What it takes (subscriptions, sockets, forked processes) is kept
// until the process dies.
std::array<int, kTables> fill_every_table(Context& context, const ContextOptions& options, PeerId honest_service,
                                          PeerId test_process) {
    std::array<int, kTables> past;
    past.fill(-9999);
    auto control = [&](detail::ControlRequest request) { return context.impl().control(request); };

    uint32_t handle = 0;
    for (const char* name : {"nobody.a", "nobody.b", "nobody.c"}) {
        auto request = control_request(detail::ControlOp::register_service, 0, name);
        request.policy = LITEIPC_POLICY_ANYONE;
        auto registered = control(request);
        if (registered && !handle) handle = registered->reply.handle;
        past[kServices] = registered ? 0 : code(registered.error().code);
    }
    for (uint32_t uid : {1001u, 1002u, 1003u}) {
        auto request = control_request(detail::ControlOp::add_uid, handle);
        request.id = uid;
        auto granted = control(request);
        past[kGrants] = granted ? 0 : code(granted.error().code);
    }
    std::vector<uint64_t> conns;
    for (int i = 0; i < 5; ++i) {
        liteipc_connect_ctl connect{};
        connect.handle = handle;
        LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &connect, .ctx_size_in = sizeof connect);
        if (bpf_prog_test_run_opts(context.impl().kernel().connect_program_fd(), &run) != 0) return past;
        if (connect.result == 0) conns.push_back(connect.conn_id);
        past[kConnections] = connect.result == -EDQUOT ? code(Errc::quota_exceeded) : connect.result;
    }
    static std::vector<DeathSubscription> kept;
    for (PeerId peer : {context.self(), honest_service, test_process}) {
        auto subscribed = context.on_death(peer, [](const DeathNotice&) {});
        past[kSubscriptions] = subscribed ? 0 : code(subscribed.error().code);
        if (subscribed) kept.push_back(std::move(*subscribed));
    }
    // Client halves of its own connections that no service will ever accept.
    for (std::size_t i = 0; i < 3 && i < conns.size(); ++i) {
        int s = connect_raw(options.socket_path);
        auto ctrl = sealed_memfd(1 << 16, F_SEAL_SHRINK | F_SEAL_GROW);
        auto pool = sealed_memfd(1 << 16, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE);
        auto request = control_request(detail::ControlOp::open_channel);
        request.conn_id = conns[i];
        const int half[] = {ctrl.get(), pool.get()};
        RawReply reply = raw_request(s, request, half, 300);  // a waiting half does not answer
        past[kPending] = reply.answered ? code(reply.code()) : 0;
    }
    // More processes of this uid, each registered through a raw socket. They start no thread,
    // so forking them from this threaded process is sound.
    for (int i = 0; i < 3; ++i) {
        OwnedPid child = fork_child([&] {
            int s = connect_raw(options.socket_path);
            RawReply hello = raw_request(s, control_request(detail::ControlOp::hello));
            int result = hello.answered ? code(hello.code()) : -1;
            if (result != 0) return result;
            for (;;) ::pause();  // registered through `s`, kept open until the attacker dies
        });
        if (auto status = child.wait_for(100ms)) past[kProcesses] = WEXITSTATUS(*status);
        else child.release();  // it holds its registration until the attacker dies (its death signal)
    }
    for (int i = 0; i < 50; ++i) {
        int s = connect_raw(options.socket_path);
        RawReply reply = raw_request(s, control_request(detail::ControlOp::lookup, 0, "nobody.a"), {}, 2000);
        past[kSockets] = reply.answered ? code(reply.code()) : -2;
        if (past[kSockets] != 0) break;
    }
    return past;
}

}  // namespace

// The quota test's attacker: as `uid`, fills every table one past its quota, reports the error
// past each (kTables ints) and holds all it took until killed. Reads the PeerIds of an honest
// service and of the test process, whose deaths it subscribes to.
LITEIPC_PEER_ROLE(fill_every_table_as) {
    PeerArgs options_only = args;
    const ContextOptions options = read_context_options(options_only);
    auto context = context_as(args);
    if (!context) return 0;
    const PeerId honest_service = read_peer_id(args);
    const PeerId test_process = read_peer_id(args);
    report(fill_every_table(*context, options, honest_service, test_process));
    for (;;) ::pause();
}

}  // namespace liteipc::testing
