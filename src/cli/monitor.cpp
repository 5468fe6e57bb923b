#include "monitor.h"

#include <bpf/bpf.h>
#include <poll.h>
#include <sys/wait.h>
#include <time.h>

#include <csignal>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <map>
#include <string>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "liteipc_abi.h"
#include "common/control_protocol.h"
#include "common/unix_socket.h"
#include "common/status_document.h"
#include "kernel/pins.h"

namespace liteipc::cli {
namespace {

using json = nlohmann::ordered_json;

volatile std::sig_atomic_t g_stop = 0;
void on_stop(int) { g_stop = 1; }

const char* kind_name(uint32_t kind) {
    switch (kind) {
        case LITEIPC_MON_CONNECT: return "connect";
        case LITEIPC_MON_DENIAL: return "denial";
        case LITEIPC_MON_DISCONNECT: return "disconnect";
        case LITEIPC_MON_DEATH: return "death";
        case LITEIPC_MON_MESSAGE: return "message";
        default: return "unknown";
    }
}

// Where a mediated message's payload sits (channel_layout.h's PayloadKind).
const char* payload_kind_name(uint32_t kind) {
    switch (kind) {
        case 0: return "none";
        case 1: return "inline";
        case 2: return "pool";
        default: return "invalid";
    }
}

constexpr uint32_t kOnewayFlag = 1;  // LITEIPC_FLAG_ONEWAY on the wire

// The kernel stamps records with CLOCK_MONOTONIC (bpf_ktime_get_ns); people read wall-clock time.
// The offset between the two clocks, read once: records are shown at the wall-clock time they
// happened, as this host's clock told it when the monitor started.
int64_t wall_clock_offset_ns() {
    timespec real{}, monotonic{};
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_MONOTONIC, &monotonic);
    return (static_cast<int64_t>(real.tv_sec) - monotonic.tv_sec) * 1'000'000'000 + (real.tv_nsec - monotonic.tv_nsec);
}

// "2026-12-06 04:40:01.123456" in local time, or "2026-12-06T04:40:01.123456Z" in UTC (for JSON).
std::string wall_clock(uint64_t monotonic_ns, int64_t offset_ns, bool utc) {
    const int64_t wall_ns = static_cast<int64_t>(monotonic_ns) + offset_ns;
    const time_t seconds = static_cast<time_t>(wall_ns / 1'000'000'000);
    tm parts{};
    if (utc) gmtime_r(&seconds, &parts);
    else localtime_r(&seconds, &parts);
    char text[64];
    std::size_t n = std::strftime(text, sizeof text, utc ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &parts);
    std::snprintf(text + n, sizeof text - n, ".%06lld%s", static_cast<long long>(wall_ns % 1'000'000'000 / 1000),
                  utc ? "Z" : "");
    return text;
}

struct Watch {
    const MonitorOptions& options;
    std::map<uint32_t, std::string> names;  // handle -> service name, refreshed on a miss
    int64_t wall_clock_offset_ns = 0;       // wall-clock minus monotonic time
    uint32_t only_handle = 0;               // with --service
    std::set<uint32_t> related_pids;        // with --service: its owner and every client seen
    long printed = 0;

    void refresh_names() {
        auto document = query_status(options.address, options.timeout);
        if (!document) return;
        auto status = liteipc::status::parse_status_document(*document);
        if (!status) return;
        for (const auto& s : status->services) {
            names[s.handle] = s.name;
            if (!options.service.empty() && s.name == options.service) {
                only_handle = s.handle;
                related_pids.insert(s.pid);
                for (const auto& c : s.clients) related_pids.insert(c.pid);
            }
        }
    }

    std::string name_of(uint32_t handle) {
        if (!names.contains(handle)) refresh_names();
        auto it = names.find(handle);
        return it == names.end() ? "?" : it->second;
    }

    bool wanted(const liteipc_monitor_record& r) {
        if (options.service.empty()) return true;
        if (r.kind == LITEIPC_MON_DEATH) return related_pids.contains(r.pid);
        if (r.handle != only_handle) return false;
        related_pids.insert(r.pid);
        return true;
    }

    void print(const liteipc_monitor_record& r) {
        const bool death = r.kind == LITEIPC_MON_DEATH;
        const bool message = r.kind == LITEIPC_MON_MESSAGE;
        if (options.json) {
            // time: wall clock (UTC); time_ns: the kernel's CLOCK_MONOTONIC stamp, to order and subtract.
            json line = {{"event", kind_name(r.kind)},
                         {"time", wall_clock(r.timestamp_ns, wall_clock_offset_ns, true)},
                         {"time_ns", r.timestamp_ns}};
            if (!death) {
                line["handle"] = r.handle;
                line["service"] = name_of(r.handle);
            }
            if (r.kind == LITEIPC_MON_CONNECT || r.kind == LITEIPC_MON_DISCONNECT || message)
                line["conn_id"] = r.conn_id;
            line["pid"] = r.pid;
            if (r.kind == LITEIPC_MON_CONNECT || r.kind == LITEIPC_MON_DENIAL || message) line["tid"] = r.tid;
            line["uid"] = r.uid;
            line["gid"] = r.gid;
            if (r.kind == LITEIPC_MON_DENIAL) line["errno"] = -r.result;
            if (message) {
                line["code"] = r.code;
                line["flags"] = r.flags;
                line["oneway"] = (r.flags & kOnewayFlag) != 0;
                line["payload"] = payload_kind_name(r.payload_kind);
                line["payload_offset"] = r.payload_offset;
                line["payload_bytes"] = r.payload_length;
            }
            if (death) {
                line["exit_code"] = r.exit_code;
                line["closed"] = r.closed != 0;
            }
            std::printf("%s\n", line.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
        } else {
            std::printf("%s %-10s", wall_clock(r.timestamp_ns, wall_clock_offset_ns, false).c_str(), kind_name(r.kind));
            if (!death) std::printf(" service %s (handle %u)", name_of(r.handle).c_str(), r.handle);
            if (r.kind == LITEIPC_MON_CONNECT || r.kind == LITEIPC_MON_DISCONNECT || message)
                std::printf(" conn %llu", static_cast<unsigned long long>(r.conn_id));
            std::printf(" pid %u", r.pid);
            if (r.kind == LITEIPC_MON_CONNECT || r.kind == LITEIPC_MON_DENIAL || message) std::printf(" tid %u", r.tid);
            std::printf(" uid %u gid %u", r.uid, r.gid);
            if (message)
                std::printf(" code %u%s payload %s %llu bytes", r.code, (r.flags & kOnewayFlag) ? " oneway" : "",
                            payload_kind_name(r.payload_kind), static_cast<unsigned long long>(r.payload_length));
            if (death) {
                if (r.closed) std::printf(" closed its context");
                else if (WIFSIGNALED(r.exit_code)) std::printf(" killed by signal %d", WTERMSIG(r.exit_code));
                else std::printf(" exit status %d", WEXITSTATUS(r.exit_code));
            }
            std::printf("\n");
        }
        std::fflush(stdout);
        ++printed;
    }

    bool done() const { return options.max_events && printed >= options.max_events; }
};

uint64_t monitor_lost(int counters_fd) {
    uint32_t key = LITEIPC_COUNTER_MONITOR_LOST;
    uint64_t value = 0;
    if (counters_fd >= 0) bpf_map_lookup_elem(counters_fd, &key, &value);
    return value;
}

int exit_for_error(const Error& error) {
    std::fprintf(stderr, "liteipc: monitor: %s\n", error.describe().c_str());
    switch (error.code) {
        case Errc::loader_unavailable: return 3;
        case Errc::permission_denied: return 4;
        case Errc::not_found: return 5;
        default: return 1;
    }
}

}  // namespace

int run_monitor(const MonitorOptions& options) {
    Watch watch{.options = options, .names = {}, .wall_clock_offset_ns = wall_clock_offset_ns(), .related_pids = {}};
    watch.refresh_names();
    if (!options.service.empty() && watch.only_handle == 0) {
        std::fprintf(stderr, "liteipc: no service named '%s'\n", options.service.c_str());
        return 5;
    }
    // Records the kernel could not put into the monitor ring (the loader fell behind): every
    // watcher missed those. The pinned counters are readable by group members.
    auto counters = detail::open_pin(options.address.pin_root, "counters", "the counters", detail::PinRights::read_only);
    detail::UniqueFd counters_map(counters ? std::move(*counters) : detail::UniqueFd());
    const uint64_t lost_before = monitor_lost(counters_map.get());

    // From here on the loader sends this socket its own copy of every record, until it closes.
    auto watching = watch_monitor(options.address, options.timeout);
    if (!watching) return exit_for_error(watching.error());

    struct sigaction stop{};
    stop.sa_handler = on_stop;
    sigaction(SIGINT, &stop, nullptr);
    sigaction(SIGTERM, &stop, nullptr);
    int status = 0;
    uint64_t dropped = 0;  // records the loader could not queue for this watcher (it read too slowly)
    std::vector<std::byte> buffer(detail::kMaxControlMessage);
    while (!g_stop && !watch.done()) {
        auto received = detail::receive_message(watching->get(), buffer, 200);
        if (!received && received.error().code == Errc::timed_out) continue;
        if (!received && received.error().sys_errno == EINTR) continue;
        if (!received || received->bytes == 0) {
            std::fprintf(stderr, "liteipc: monitor: liteipc-loader went away\n");
            status = 3;
            break;
        }
        detail::MonitorBatch header;
        if (received->bytes < sizeof header) continue;
        std::memcpy(&header, buffer.data(), sizeof header);
        if (header.magic != detail::kMonitorBatchMagic ||
            received->bytes != sizeof header + std::size_t{header.count} * sizeof(liteipc_monitor_record))
            continue;  // not a batch (a late reply): nothing to show
        dropped = header.dropped;
        for (uint32_t i = 0; i < header.count && !watch.done(); ++i) {
            liteipc_monitor_record record;
            std::memcpy(&record, buffer.data() + sizeof header + i * sizeof record, sizeof record);
            if (watch.wanted(record)) watch.print(record);
        }
    }
    const uint64_t lost = monitor_lost(counters_map.get()) - lost_before + dropped;
    if (options.json) std::printf("%s\n", json({{"lost", lost}}).dump().c_str());
    else if (lost == 0) std::printf("-- no events lost\n");
    else std::printf("-- %llu event%s lost: the monitor ring or this watcher's queue was full\n",
                     static_cast<unsigned long long>(lost), lost == 1 ? "" : "s");
    return status;
}

}  // namespace liteipc::cli
