// Roles of the mediated-service tests: a client that takes its steps when the test says, so that
// the test can change the client's rights (or its uid) between two messages.
#include <bpf/bpf.h>
#include <sys/syscall.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <thread>

#include "api/context_impl.h"
#include "common/status_document.h"
#include "liteipc_abi.h"
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


// This connection's id, as the loader's status document lists the clients of `service`.
uint64_t own_conn_id(const Context& context, const std::string& service) {
    auto text = context.loader_status();
    if (!text) return 0;
    auto document = status::parse_status_document(*text);
    if (!document) return 0;
    for (const auto& s : document->services)
        if (s.name == service)
            for (const auto& c : s.clients)
                if (c.pid == static_cast<uint32_t>(::getpid())) return c.conn_id;
    return 0;
}

// A record through the send program, as MediatedSender::send makes one; the program's result.
int32_t run_send(int send_prog, const liteipc_send_ctl& record) {
    liteipc_send_ctl ctl = record;
    LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &ctl, .ctx_size_in = sizeof ctl);
    if (bpf_prog_test_run_opts(send_prog, &run) != 0) return -errno;
    return ctl.result;
}

// Puts a request naming pool bytes [offset, +length) into `slot`, sends its record and wakes the
// service with an honest call (the doorbell is rung by the library); the service's reply status
// to the forged request (-ETIMEDOUT: no reply within 10 s).
int32_t forge_pool_request(int send_prog, uint64_t conn_id, uint32_t index, detail::CallSlot& slot, uint64_t offset,
                           uint64_t length, const std::function<void()>& wake) {
    static uint64_t sequence = 1u << 20;
    detail::MessageDescriptor request{};
    request.code = kForgedCode;
    request.call_sequence = ++sequence;
    request.payload_kind = static_cast<uint32_t>(detail::PayloadKind::pool);
    request.pool_offset = offset;
    request.payload_length = length;
    std::memcpy(&slot.request, &request, sizeof request);  // its new call_sequence opens the request
    liteipc_send_ctl ctl{};
    ctl.conn_id = conn_id;
    ctl.slot = index;
    ctl.code = kForgedCode;
    ctl.payload_kind = request.payload_kind;
    ctl.payload_offset = offset;
    ctl.payload_length = length;
    ctl.call_sequence = request.call_sequence;
    if (int32_t sent = run_send(send_prog, ctl); sent != 0) return sent;
    wake();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (detail::sequence_of(slot.reply).load(std::memory_order_acquire) != request.call_sequence) {
        if (std::chrono::steady_clock::now() > deadline) return -ETIMEDOUT;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    detail::MessageDescriptor reply;
    std::memcpy(&reply, &slot.reply, sizeof reply);
    return (reply.flags & detail::kFlagRejected) ? reply.status : 1;  // 1: served as if it were honest
}

// Whether `needle` shows in any liteipc shared memory this process maps readable.
bool seen_in_liteipc_memory(const std::string& needle) {
    bool seen = false;
    FILE* maps = std::fopen("/proc/self/maps", "r");
    char line[512];
    while (maps && !seen && std::fgets(line, sizeof line, maps)) {
        unsigned long begin = 0, end = 0;
        char perms[8] = {};
        // Only liteipc's shared memory (memfds named liteipc-*): this program's own image has
        // "liteipc" in its path, and reading its globals whole would cross sanitizer redzones.
        if (!std::strstr(line, "memfd:liteipc") || std::sscanf(line, "%lx-%lx %7s", &begin, &end, perms) != 3 || perms[0] != 'r')
            continue;
        std::string_view region(reinterpret_cast<const char*>(begin), end - begin);
        seen = region.find(needle) != std::string_view::npos;
    }
    if (maps) std::fclose(maps);
    return seen;
}

MediatedReport forge_records(const Context& context, Connection& connection, const ContextOptions& options,
                             const std::string& service, uint32_t secret_seed) {
    MediatedReport out{};
    const uint64_t conn_id = own_conn_id(context, service);
    const int send_prog = bpf_obj_get((options.pin_root + "/send").c_str());
    auto regions = writable_ctrl_regions();
    if (conn_id == 0 || send_prog < 0 || regions.size() != 1) {
        out.result = -1;
        return out;
    }
    std::byte* base = regions[0].data();
    detail::ChannelHeader header;
    std::memcpy(&header, base, sizeof header);
    // The last slot: the client's own calls take the first free ones.
    const uint32_t index = header.slot_count - 1;
    auto& slot = *reinterpret_cast<detail::CallSlot*>(base + header.slots_offset + uint64_t{index} * sizeof(detail::CallSlot));

    liteipc_send_ctl past_end{};
    past_end.conn_id = conn_id;
    past_end.slot = header.slot_count + 7;
    past_end.code = kForgedCode;
    // The service's workers sleep until a client rings the connection's doorbell: an honest call does.
    auto wake = [&] {
        Request request(connection);
        (void)connection.call(kWhoAmI, request, std::chrono::milliseconds(5000));
    };
    out.slot_past_end = run_send(send_prog, past_end);
    out.outside_pool = forge_pool_request(send_prog, conn_id, index, slot, uint64_t{1} << 40, 4096, wake);
    out.wrapping_length = forge_pool_request(send_prog, conn_id, index, slot, 64, ~uint64_t{0} - 32, wake);

    // Slot indices past the connection's, published in the ctrl ring as a client publishes a call.
    auto* enqueue = reinterpret_cast<std::atomic<uint64_t>*>(base + sizeof(detail::ChannelHeader));
    auto* ring = reinterpret_cast<detail::RingCell*>(base + header.ring_offset);
    for (uint32_t i = 0; i < 4; ++i) {
        const uint64_t position = enqueue->load(std::memory_order_acquire);
        detail::RingCell& cell = ring[position & (header.ring_capacity - 1)];
        cell.slot_index.store(header.slot_count + i, std::memory_order_relaxed);
        cell.sequence.store(position + 1, std::memory_order_release);
        enqueue->store(position + 1, std::memory_order_release);
    }
    wake();
    out.secret_seen = seen_in_liteipc_memory(secret_text(secret_seed).substr(0, 64));
    ::close(send_prog);
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
            case MediatedOp::echo_secret: {
                if (!connection) {
                    out.result = -1;
                    break;
                }
                const std::string secret = secret_text(command.arg);
                Request request(*connection);
                request.writer().write_string(secret);
                request.writer().write_int32(1);
                auto reply = connection->call(kEcho, request, std::chrono::milliseconds(5000));
                if (!reply) out.result = errc_of(reply.error());
                else if (reply->reader().read_string_view() != secret) out.result = -3;
                break;
            }
            case MediatedOp::forge_records:
                if (!connection) out.result = -1;
                else out = forge_records(*context, *connection, options, name, command.arg);
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
