// Roles of the mediated-service tests: a client that takes its steps when the test says, so that
// the test can change the client's rights (or its uid) between two messages.
#include <bpf/bpf.h>
#include <sys/syscall.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "api/context_impl.h"
#include "mediated_protocol.h"
#include "peer_role.h"
#include "test_processes.h"
#include "transport/channel_layout.h"

namespace liteipc::testing {
namespace {

int errc_of(const Error& error) { return static_cast<int>(error.code); }

// Scribbles a false sender tid into every call slot of this process's connections until stopped:
// what a client could do to a direct service's GetCallingTid.
class TidForger {
public:
    TidForger() : regions_(writable_ctrl_regions()) {
        thread_ = std::thread([this] {
            while (!stop_.load(std::memory_order_relaxed))
                for (std::span<std::byte> region : regions_) forge(region.data(), region.size());
        });
    }
    ~TidForger() {
        stop_ = true;
        thread_.join();
    }

private:
    static void forge(std::byte* base, std::size_t size) {
        detail::ChannelHeader header;
        std::memcpy(&header, base, sizeof header);
        for (uint32_t slot = 0; slot < header.slot_count; ++slot) {
            const uint64_t at = header.slots_offset + uint64_t{slot} * sizeof(detail::CallSlot) +
                                offsetof(detail::CallSlot, request) + offsetof(detail::MessageDescriptor, sender_tid);
            if (at + 4 > size) return;
            reinterpret_cast<std::atomic<uint32_t>*>(base + at)->store(kForgedTid, std::memory_order_relaxed);
        }
    }
    std::vector<std::span<std::byte>> regions_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// 0 when neither the pinned map of message rings nor any BPF map by id opens for this process.
int reach_message_rings(const std::string& pin_root) {
    int pinned = bpf_obj_get((pin_root + "/msg_rings").c_str());
    if (pinned >= 0) {
        ::close(pinned);
        return 1;
    }
    if (errno != EACCES && errno != EPERM) return 2;
    for (uint32_t id = 0; bpf_map_get_next_id(id, &id) == 0;) {
        int fd = bpf_map_get_fd_by_id(id);
        if (fd >= 0) {
            ::close(fd);
            return 3;
        }
    }
    return 0;
}

// kWhoAmI from a thread of its own, so that the tid the service reports is not the main thread's.
MediatedReport who_am_i(Connection& connection, bool forge_tid) {
    MediatedReport out{};
    std::thread caller([&] {
        const auto tid = static_cast<uint32_t>(::syscall(SYS_gettid));
        std::optional<TidForger> forger;
        if (forge_tid) forger.emplace();
        Request request(connection);
        auto reply = connection.call(kWhoAmI, request, std::chrono::milliseconds(5000));
        forger.reset();
        if (!reply) {
            out.result = errc_of(reply.error());
            return;
        }
        Reader reader = reply->reader();
        out.pid = reader.read_uint32();
        out.uid = reader.read_uint32();
        out.gid = reader.read_uint32();
        out.tid = reader.read_uint32();
        out.own_tid = tid;
    });
    caller.join();
    out.own_pid = static_cast<uint32_t>(::getpid());
    return out;
}

}  // namespace

// A client of service `name`: opens a context (as `uid` in the liteipc group unless it is 0),
// reports once, then takes MediatedCommands until the test closes its end, reporting after each.
LITEIPC_PEER_ROLE(mediated_client) {
    ContextOptions options = read_context_options(args);
    auto uid = static_cast<uid_t>(args.number());
    std::string name = args.text();
    MediatedReport ready{};
    ready.own_pid = static_cast<uint32_t>(::getpid());
    if (uid != 0 && !become_group_member(uid)) ready.result = -1;
    std::optional<Context> context;
    if (ready.result == 0) {
        auto opened = Context::open(options);
        if (opened) context.emplace(std::move(*opened));
        else ready.result = errc_of(opened.error());
    }
    if (!report(ready) || ready.result != 0) return 0;
    std::optional<Connection> connection;
    for (MediatedCommand command; receive(command);) {
        MediatedReport out{};
        out.own_pid = static_cast<uint32_t>(::getpid());
        switch (command.op) {
            case MediatedOp::connect: {
                auto opened = Connection::open(*context, name);
                if (opened) connection.emplace(std::move(*opened));
                else out.result = errc_of(opened.error());
                break;
            }
            case MediatedOp::who_am_i:
            case MediatedOp::who_am_i_forging_tid:
                if (!connection) out.result = -1;
                else out = who_am_i(*connection, command.op == MediatedOp::who_am_i_forging_tid);
                break;
            case MediatedOp::become_uid:
                out.result = become_group_member(command.arg) ? 0 : -1;
                break;
            case MediatedOp::reach_message_rings:
                out.result = reach_message_rings(options.pin_root);
                break;
            case MediatedOp::grant_pid: {
                // What passing the service on (OBJ_SVC) does: a holder (connected, or granted
                // without connecting) grants a process.
                detail::ControlRequest request{};
                if (connection) {
                    request.handle = connection->handle();
                } else {
                    detail::ControlRequest lookup{};
                    lookup.op = detail::ControlOp::lookup;
                    std::memcpy(lookup.name, name.data(), std::min(name.size(), sizeof lookup.name - 1));
                    auto found = context->impl().control(lookup);
                    if (!found) {
                        out.result = errc_of(found.error());
                        break;
                    }
                    request.handle = found->reply.handle;
                }
                request.op = detail::ControlOp::add_access;
                request.id = command.arg;
                auto granted = context->impl().control(request);
                out.result = granted ? 0 : errc_of(granted.error());
                break;
            }
        }
        if (!report(out)) return 101;
    }
    return 0;
}

}  // namespace liteipc::testing
