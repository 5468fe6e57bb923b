// Roles of the system tests' short-lived client peers: each runs once, reports a few ints and
// exits. A uid argument other than 0 makes the peer that uid in the liteipc group first.
#include <bpf/bpf.h>
#include <fcntl.h>

#include "api/context_impl.h"
#include "liteipc_abi.h"
#include "peer_role.h"
#include "permission_checks.h"
#include "process_state.h"
#include "test_processes.h"

namespace liteipc::testing {
namespace {

bool become(uid_t uid) { return uid == 0 || become_group_member(uid); }

template <size_t N>
int report_ints(const std::array<int, N>& values) {
    return report(values) ? 0 : 101;
}

}  // namespace

// Connects to `name` and calls kWhoAmI. Reports {connect: 0 or Errc, call: 0 or Errc, 1 if the
// service saw this process's pid, the uid the service saw}.
LITEIPC_PEER_ROLE(connect_and_call) {
    ContextOptions options = read_context_options(args);
    auto uid = static_cast<uid_t>(args.number());
    std::string name = args.text();
    std::array<int, 4> out{-1, -1, -1, -1};
    if (!become(uid)) return report_ints(out);
    auto context = Context::open(options);
    if (!context) return report_ints(out);
    auto conn = Connection::open(*context, name);
    out[0] = conn ? 0 : static_cast<int>(conn.error().code);
    if (!conn) return report_ints(out);
    Request request(*conn);
    auto reply = conn->call(kWhoAmI, request);
    out[1] = reply ? 0 : static_cast<int>(reply.error().code);
    if (reply) {
        Reader reader = reply->reader();
        out[2] = reader.read_uint32() == static_cast<uint32_t>(::getpid()) ? 1 : 0;
        out[3] = static_cast<int>(reader.read_uint32());
    }
    return report_ints(out);
}

// A second, unprivileged client of `name` looks for the first client's reply bytes (hex) in
// everything it maps and tries the service's fds. Reports {connected, found the bytes, opened
// one of the service's fds}.
LITEIPC_PEER_ROLE(look_for_another_clients_reply) {
    ContextOptions options = read_context_options(args);
    std::string name = args.text();
    auto service_pid = static_cast<pid_t>(args.number());
    std::vector<std::byte> secret = from_hex(args.text());
    std::array<int, 3> out{-1, -1, -1};
    if (!become_group_member()) return report_ints(out);
    auto context = Context::open(options);
    if (!context) return report_ints(out);
    auto second = Connection::open(*context, name);
    out[0] = second ? 1 : 0;
    if (second) {
        Request small(*second);
        small.writer().write_uint64(1u << 20);
        auto own = second->call(kSecret, small);  // its own reply, in its own pool
        (void)own;
        out[1] = mapped_liteipc_memory_contains(secret) ? 1 : 0;
    }
    out[2] = 0;
    for (int fd = 0; fd < 64; ++fd) {
        std::string path = "/proc/" + std::to_string(service_pid) + "/fd/" + std::to_string(fd);
        int opened = ::open(path.c_str(), O_RDONLY);
        if (opened >= 0) {
            out[2] = 1;
            ::close(opened);
        }
    }
    return report_ints(out);
}

// Scribbles "pid 1, uid 0" over its whole writable ctrl region, then calls kWhoAmI three times.
// Reports {a forged pid was seen, the real pid was seen, a call ended with a named error}.
LITEIPC_PEER_ROLE(forge_identity) {
    ContextOptions options = read_context_options(args);
    std::string name = args.text();
    std::array<int, 3> out{-1, -1, -1};
    auto context = Context::open(options);
    if (!context) return report_ints(out);
    auto conn = Connection::open(*context, name);
    if (!conn) return report_ints(out);
    for (std::span<std::byte> region : writable_ctrl_regions()) {
        auto* words = reinterpret_cast<uint32_t*>(region.data());
        for (size_t i = 64; i < region.size() / 4; ++i) words[i] = (i % 2) ? 0u : 1u;
    }
    for (int attempt = 0; attempt < 3; ++attempt) {
        Request request(*conn);
        auto reply = conn->call(kWhoAmI, request, 500ms);
        if (!reply) {
            out[2] = 1;
            continue;
        }
        uint32_t pid = reply->reader().read_uint32();
        if (pid == static_cast<uint32_t>(::getpid())) out[1] = 1;
        if (pid == 1) out[0] = 1;
    }
    return report_ints(out);
}

// Runs the connect program for `handle` as `uid`, registered or not, with an honest context or
// one that claims pid 1 / uid 0 and a chosen connection. Reports {the program's result, own pid}.
LITEIPC_PEER_ROLE(run_connect_program) {
    ContextOptions options = read_context_options(args);
    auto handle = static_cast<uint32_t>(args.number());
    auto uid = static_cast<uid_t>(args.number());
    bool forge = args.number() != 0;
    bool register_it = args.number() != 0;
    std::array<int, 2> out{-1000, ::getpid()};
    if (!become(uid)) return report_ints(out);
    std::optional<Context> context;
    int prog = -1;
    if (register_it) {
        auto opened = Context::open(options);
        if (!opened) return report_ints(out);
        context.emplace(std::move(*opened));
        prog = context->impl().kernel().connect_program_fd();
    } else {
        prog = bpf_obj_get((options.pin_root + "/connect").c_str());
    }
    // The context as a client sends it, with room for whatever a hostile client adds.
    struct ForgedConnectCtl {
        liteipc_connect_ctl ctl;
        uint32_t claimed_pid, claimed_uid, claimed_gid, pad;
    } forged{};
    forged.ctl.handle = handle;
    if (forge) {
        forged.ctl.result = 0;
        forged.ctl.conn_id = 42;
        forged.ctl.service_slot = 7;
        forged.claimed_pid = 1;
    }
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &forged, 
                .ctx_size_in = static_cast<uint32_t>(forge ? sizeof forged : sizeof forged.ctl));
    if (bpf_prog_test_run_opts(prog, &opts) == 0) out[0] = forged.ctl.result;
    return report_ints(out);
}

// Asks the service manager to grant itself access to another process's service. Reports
// {0 or the Errc}.
LITEIPC_PEER_ROLE(grant_access_from_other) {
    ContextOptions options = read_context_options(args);
    auto handle = static_cast<uint32_t>(args.number());
    auto other = Context::open(options);
    if (!other) return report_ints(std::array<int, 1>{-1});
    detail::ControlRequest request{};
    request.op = detail::ControlOp::add_access;
    request.handle = handle;
    request.id = static_cast<uint32_t>(::getpid());
    auto response = other->impl().control(request);
    return report_ints(std::array<int, 1>{response ? 0 : static_cast<int>(response.error().code)});
}

// Becomes nobody in the liteipc group and tries what such a member must not do. Reports {the
// permission_checks.h bits that passed}.
LITEIPC_PEER_ROLE(unprivileged_checks) {
    ContextOptions options = read_context_options(args);
    auto other_inbox_id = static_cast<uint32_t>(args.number());
    return report_ints(std::array<int, 1>{run_unprivileged(options, other_inbox_id)});
}

}  // namespace liteipc::testing
