// liteipc: what a running liteipc looks like, as tables for people or JSON for programs.
// Every command here but `call` only reads: none registers a process or changes the loader's state.
#include <getopt.h>
#include <time.h>

#include <csignal>
#include <vector>

#include <cstdio>
#include <cstdlib>
#include <cctype>
#include <cstring>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "liteipc/version.h"
#include "loader_query.h"
#include "loader_status.h"
#include "call_command.h"
#include "monitor.h"
#include "table.h"

namespace {

using liteipc::Errc;
using liteipc::cli::LoaderStatus;
using liteipc::cli::ServiceRecord;
using liteipc::cli::Table;
// ordered_json: fields print in the order a reader expects (slot before pid), not sorted.
using json = nlohmann::ordered_json;

// Exit statuses, documented in liteipc(1) and `liteipc help`.
enum Exit : int {
    kExitOk = 0,
    kExitFailure = 1,      // the loader refused or answered something malformed
    kExitUsage = 2,        // bad command line
    kExitNoLoader = 3,     // nothing listens on the control socket
    kExitNoPermission = 4, // this user may not use liteipc (not in the liteipc group)
    kExitNotFound = 5,     // the named service does not exist
};

struct Command {
    const char* name;
    const char* synopsis;
    const char* summary;
    const char* details;
};

constexpr Command kCommands[] = {
    {"status", "status [SERVICE]", "the loader, registered processes and services; or one service",
     "Without SERVICE: the loader (pid, pin root, socket, deaths seen, records lost, how pools are\n"
     "backed), every registered process and every service. With SERVICE: that service alone: its\n"
     "owner, policy, mode, connected clients with pid and uid, and its counters.\n"},
    {"list", "list", "services: handle, name, owner pid, policy, connects, denials",
     "One line per registered service.\n"},
    {"stats", "stats [--watch SECONDS [--count N]] [SERVICE]", "per-service counters, or their rates",
     "Counters of every service (or of SERVICE): calls, one-way messages, bytes, errors, timeouts,\n"
     "dead-object failures (counted by the service on its data plane), and denials, connects and\n"
     "disconnects (counted by the kernel). With --watch, the rates per second over each interval,\n"
     "until Ctrl-C or N intervals; with --json, one document per interval.\n"},
    {"monitor", "monitor [--service NAME] [--count N]", "live kernel-plane events until Ctrl-C",
     "Connects, denials, disconnects and deaths as the kernel sees them, one line each led by its\n"
     "wall-clock time (with --json, one JSON document each), until Ctrl-C or N events; then how many\n"
     "events this watcher lost (the kernel's monitor ring full, or its own queue in the loader full\n"
     "because it read too slowly). Every watcher gets every event; none can hide events from another.\n"
     "With --service, only that service's events and the deaths of its owner\n"
     "and clients. Needs only membership of the liteipc group; registers nothing.\n"},
    {"call", "call SERVICE CODE [TYPE:VALUE...] [--reply TYPES]", "one call with typed arguments; its reply",
     "Connects to SERVICE, sends request CODE with the arguments in order, and prints the reply's\n"
     "status and the fields named by --reply (comma-separated, read in order). Types: s (string),\n"
     "b (true/false), i8 i16 i32 i64, u8 u16 u32 u64, f32 f64; e.g. call demo.echo 1 s:hello i32:41\n"
     "--reply s,i32. This command registers a process with the loader (it calls); no other does.\n"},
    {"help", "help [COMMAND]", "this text, or one command's", ""},
    {"version", "version", "the version of this program", ""},
};

const Command* find_command(std::string_view name) {
    for (const auto& command : kCommands)
        if (name == command.name) return &command;
    return nullptr;
}

void usage(std::FILE* out) {
    auto address = liteipc::cli::default_address();
    std::fprintf(out, "usage: liteipc [OPTIONS] COMMAND [ARGS]\n\ncommands:\n");
    for (const auto& command : kCommands) std::fprintf(out, "  %-18s %s\n", command.synopsis, command.summary);
    std::fprintf(out,
                 "\noptions:\n"
                 "  -j, --json         print JSON (one document, the same schema for every command)\n"
                 "  -p, --pretty       print indented JSON (implies --json)\n"
                 "      --socket PATH  loader control socket (default %s; env LITEIPC_SOCKET)\n"
                 "      --pin-root DIR where the loader pinned the kernel plane (default %s; env LITEIPC_PIN_ROOT)\n"
                 "      --timeout MS   how long to wait for the loader (default 5000)\n"
                 "  -h, --help         this text; COMMAND --help for one command\n"
                 "      --version      the version\n"
                 "\nexit status: 0 done, 1 the loader refused or answered badly, 2 bad usage,\n"
                 "3 no loader listening, 4 not allowed (join the liteipc group), 5 no such service\n",
                 address.socket_path.c_str(), address.pin_root.c_str());
}

void command_help(std::FILE* out, const Command& command) {
    std::fprintf(out, "usage: liteipc [OPTIONS] %s\n\n%s\n%s", command.synopsis, command.summary, command.details);
    std::fprintf(out, "\nSee liteipc --help for the options and exit statuses.\n");
}

json counters_json(const liteipc::cli::ServiceCounters& counters) {
    json out = json::object();
    liteipc::cli::for_each_counter(counters, [&](const char* name, uint64_t value) { out[name] = value; });
    return out;
}

json service_json(const ServiceRecord& s) {
    json clients = json::array();
    for (const auto& c : s.clients)
        clients.push_back({{"conn_id", c.conn_id}, {"pid", c.pid}, {"uid", c.uid}, {"gid", c.gid}});
    return {{"handle", s.handle},
            {"name", s.name},
            {"pid", s.pid},
            {"uid", s.uid},
            {"policy", liteipc::cli::policy_name(s.policy)},
            {"uid_min", s.uid_min},
            {"uid_max", s.uid_max},
            {"mode", s.mode},
            {"clients", clients},
            {"counters", counters_json(s.counters)}};
}

json status_json(const LoaderStatus& status) {
    json processes = json::array();
    for (const auto& p : status.processes)
        processes.push_back({{"slot", p.slot}, {"pid", p.pid}, {"uid", p.uid}, {"generation", p.generation},
                             {"state", p.state}});
    json services = json::array();
    for (const auto& s : status.services) services.push_back(service_json(s));
    return {{"loader",
             {{"pid", status.loader_pid},
              {"pin_root", status.pin_root},
              {"socket", status.socket},
              {"processes_alive", status.processes_alive},
              {"processes_dead", status.processes_dead},
              {"deaths_seen", status.deaths_seen},
              {"records_lost", status.records_lost},
              {"pool_backing", status.pool_backing}}},
            {"quotas", status.quotas},
            {"tables", status.tables},
            {"name_policy", status.name_policy},
            {"refused", status.refused},
            {"uids", status.uids},
            {"processes", processes},
            {"services", services}};
}

Table services_table() {
    using Align = Table::Align;
    return Table({{"HANDLE", Align::right}, {"NAME", Align::left}, {"PID", Align::right}, {"POLICY", Align::left},
                  {"CONNECTS", Align::right}, {"DENIALS", Align::right}});
}

void add_service_row(Table& table, const ServiceRecord& s) {
    table.add_row({std::to_string(s.handle), s.name, std::to_string(s.pid), liteipc::cli::policy_name(s.policy),
                   std::to_string(s.counters.connects), std::to_string(s.counters.denials)});
}

void print_service(const ServiceRecord& s) {
    std::string policy = liteipc::cli::policy_name(s.policy);
    if (policy == "uid-range") policy += " " + std::to_string(s.uid_min) + ".." + std::to_string(s.uid_max);
    std::printf("service    %s (handle %u)\n", s.name.c_str(), s.handle);
    std::printf("owner      pid %u, uid %u\n", s.pid, s.uid);
    std::printf("policy     %s\n", policy.c_str());
    std::printf("mode       %s\n", s.mode.c_str());
    std::string counters;
    liteipc::cli::for_each_counter(s.counters, [&](const char* name, uint64_t value) {
        counters += (counters.empty() ? "" : ", ") + std::string(name) + " " + std::to_string(value);
    });
    std::printf("counters   %s\n", counters.c_str());
    std::printf("clients    %zu\n", s.clients.size());
    if (s.clients.empty()) return;
    using Align = Table::Align;
    Table clients({{"CONN", Align::right}, {"PID", Align::right}, {"UID", Align::right}, {"GID", Align::right}});
    for (const auto& c : s.clients)
        clients.add_row({std::to_string(c.conn_id), std::to_string(c.pid), std::to_string(c.uid), std::to_string(c.gid)});
    std::printf("\n");
    clients.print(stdout);
}

void print_status(const LoaderStatus& status) {
    std::printf("loader     pid %u, pin root %s, socket %s\n", status.loader_pid, status.pin_root.c_str(),
                status.socket.c_str());
    std::printf("processes  %llu alive, %llu dead; deaths seen %llu, records lost %llu\n",
                static_cast<unsigned long long>(status.processes_alive),
                static_cast<unsigned long long>(status.processes_dead),
                static_cast<unsigned long long>(status.deaths_seen),
                static_cast<unsigned long long>(status.records_lost));
    std::printf("pools      %s\n", status.pool_backing.c_str());
    std::printf("services   %zu\n", status.services.size());
    std::string quotas, refused;
    for (const auto& [name, value] : status.quotas.items())
        quotas += (quotas.empty() ? "" : ", ") + name + " " + value.dump();
    for (const auto& [name, value] : status.refused.items())
        if (value.is_number() && value.get<uint64_t>() != 0)
            refused += (refused.empty() ? "" : ", ") + name + " " + value.dump();
    std::printf("quotas     per uid: %s\n", quotas.c_str());
    // What uids other than root hold of each global table; root's reserve is not theirs.
    std::string tables;
    for (const auto& [name, t] : status.tables.items()) {
        const uint64_t room = t.value("capacity", uint64_t{0}) - t.value("reserve", uint64_t{0});
        tables += (tables.empty() ? "" : ", ") + name + " " + t.value("members", json(0)).dump() + "/" +
                  std::to_string(room) + (t.value("near_full", false) ? " NEAR FULL" : "");
    }
    std::printf("tables     held by uids other than root / their room: %s\n", tables.c_str());
    std::printf("refused    %s\n", refused.empty() ? "nothing" : refused.c_str());
    if (!status.uids.empty()) {
        // One column per quota the loader reports, in its order.
        std::vector<Table::Column> columns{{"UID", Table::Align::right}};
        for (const auto& [name, value] : status.quotas.items()) {
            std::string title = name;
            for (char& c : title) c = c == '_' ? ' ' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            columns.push_back({title, Table::Align::right});
        }
        Table uids(columns);
        for (const auto& u : status.uids) {
            std::vector<std::string> row{u.value("uid", json(0)).dump()};
            for (const auto& [name, value] : status.quotas.items()) row.push_back(u.value(name, json(0)).dump());
            uids.add_row(row);
        }
        std::printf("\n");
        uids.print(stdout);
    }
    if (!status.processes.empty()) {
        using Align = Table::Align;
        Table processes({{"SLOT", Align::right}, {"PID", Align::right}, {"UID", Align::right},
                         {"GENERATION", Align::right}, {"STATE", Align::left}});
        for (const auto& p : status.processes)
            processes.add_row({std::to_string(p.slot), std::to_string(p.pid), std::to_string(p.uid),
                               std::to_string(p.generation), p.state});
        std::printf("\n");
        processes.print(stdout);
    }
    if (status.services.empty()) return;
    Table services = services_table();
    for (const auto& s : status.services) add_service_row(services, s);
    std::printf("\n");
    services.print(stdout);
}

struct Output {
    bool as_json = false;
    bool pretty = false;
    void print(const json& document) const {
        // error_handler::replace: a name that is not valid UTF-8 prints with U+FFFD, never throws.
        std::printf("%s\n", document.dump(pretty ? 2 : -1, ' ', false, json::error_handler_t::replace).c_str());
    }
};

Table stats_table(bool rates) {
    using Align = Table::Align;
    std::vector<Table::Column> columns{{"HANDLE", Align::right}, {"NAME", Align::left}};
    liteipc::cli::for_each_counter({}, [&](const char* name, uint64_t) {
        std::string title = name;
        for (char& c : title) c = c == '_' ? ' ' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        columns.push_back({rates ? title + "/S" : title, Align::right});
    });
    return Table(columns);
}

// The services `only` names (all when empty); false when it names none.
bool select_services(const LoaderStatus& status, const char* only, std::vector<ServiceRecord>& out) {
    out.clear();
    for (const auto& s : status.services)
        if (!only || s.name == only) out.push_back(s);
    return !only || !out.empty();
}

void print_stats(const std::vector<ServiceRecord>& services, const Output& output) {
    if (output.as_json) {
        json list = json::array();
        for (const auto& s : services)
            list.push_back({{"handle", s.handle}, {"name", s.name}, {"counters", counters_json(s.counters)}});
        output.print({{"stats", list}});
        return;
    }
    Table table = stats_table(false);
    for (const auto& s : services) {
        std::vector<std::string> row{std::to_string(s.handle), s.name};
        liteipc::cli::for_each_counter(s.counters, [&](const char*, uint64_t v) { row.push_back(std::to_string(v)); });
        table.add_row(row);
    }
    if (table.empty()) std::printf("no services registered\n");
    else table.print(stdout);
}

// Rates over one interval, for the services present at both ends of it.
void print_rates(const std::vector<ServiceRecord>& before, const std::vector<ServiceRecord>& after, double seconds,
                 const Output& output) {
    json list = json::array();
    Table table = stats_table(true);
    for (const auto& s : after) {
        const ServiceRecord* old = nullptr;
        for (const auto& b : before)
            if (b.handle == s.handle) old = &b;
        if (!old) continue;
        std::vector<uint64_t> was;
        liteipc::cli::for_each_counter(old->counters, [&](const char*, uint64_t v) { was.push_back(v); });
        json rates = json::object();
        std::vector<std::string> row{std::to_string(s.handle), s.name};
        std::size_t i = 0;
        liteipc::cli::for_each_counter(s.counters, [&](const char* name, uint64_t v) {
            double rate = static_cast<double>(v - was[i++]) / seconds;
            rates[name] = rate;
            char text[32];
            std::snprintf(text, sizeof text, "%.1f", rate);
            row.push_back(text);
        });
        list.push_back({{"handle", s.handle}, {"name", s.name}, {"rates", rates}});
        table.add_row(row);
    }
    if (output.as_json) {
        output.print({{"interval_s", seconds}, {"stats", list}});
    } else {
        std::printf("over %.1f s:\n", seconds);
        table.print(stdout);
    }
    std::fflush(stdout);
}

volatile std::sig_atomic_t g_interrupted = 0;
void on_interrupt(int) { g_interrupted = 1; }

int exit_for(Errc code) {
    switch (code) {
        case Errc::loader_unavailable: return kExitNoLoader;
        case Errc::permission_denied: return kExitNoPermission;
        case Errc::not_found: return kExitNotFound;
        default: return kExitFailure;
    }
}

}  // namespace

int main(int argc, char** argv) {
    liteipc::cli::LoaderAddress address = liteipc::cli::default_address();
    Output output;
    long timeout_ms = 5000;
    bool want_help = false;
    long watch_seconds = 0, watch_count = 0;
    std::string only_service, reply_types;
    enum { kSocket = 256, kPinRoot, kTimeout, kVersion, kWatch, kCount, kService, kReply };
    static const option long_options[] = {{"json", no_argument, nullptr, 'j'},
                                          {"pretty", no_argument, nullptr, 'p'},
                                          {"socket", required_argument, nullptr, kSocket},
                                          {"pin-root", required_argument, nullptr, kPinRoot},
                                          {"timeout", required_argument, nullptr, kTimeout},
                                          {"help", no_argument, nullptr, 'h'},
                                          {"version", no_argument, nullptr, kVersion},
                                          {"watch", required_argument, nullptr, kWatch},
                                          {"count", required_argument, nullptr, kCount},
                                          {"service", required_argument, nullptr, kService},
                                          {"reply", required_argument, nullptr, kReply},
                                          {nullptr, 0, nullptr, 0}};
    // GNU getopt_long permutes: options may come before or after the command.
    for (int c; (c = getopt_long(argc, argv, "jph", long_options, nullptr)) != -1;) {
        switch (c) {
            case 'j': output.as_json = true; break;
            case 'p': output.as_json = output.pretty = true; break;
            case kSocket: address.socket_path = optarg; break;
            case kPinRoot: address.pin_root = optarg; break;
            case kTimeout: {
                char* end = nullptr;
                timeout_ms = std::strtol(optarg, &end, 10);
                if (!*optarg || *end || timeout_ms <= 0 || timeout_ms > 3'600'000) {
                    std::fprintf(stderr, "liteipc: --timeout takes milliseconds from 1 to 3600000\n");
                    return kExitUsage;
                }
                break;
            }
            case kWatch:
            case kCount: {
                char* end = nullptr;
                long value = std::strtol(optarg, &end, 10);
                if (!*optarg || *end || value <= 0 || value > 86'400) {
                    std::fprintf(stderr, "liteipc: --%s takes a whole number from 1 to 86400\n",
                                 c == kWatch ? "watch" : "count");
                    return kExitUsage;
                }
                (c == kWatch ? watch_seconds : watch_count) = value;
                break;
            }
            case kService: only_service = optarg; break;
            case kReply: reply_types = optarg; break;
            case 'h': want_help = true; break;
            case kVersion: std::printf("liteipc %s\n", LITEIPC_VERSION_STRING); return kExitOk;
            default: usage(stderr); return kExitUsage;
        }
    }
    if (optind >= argc) {
        if (want_help) {
            usage(stdout);
            return kExitOk;
        }
        usage(stderr);
        return kExitUsage;
    }
    std::string_view name = argv[optind];
    const Command* command = find_command(name);
    if (!command) {
        std::fprintf(stderr, "liteipc: unknown command '%s' (see liteipc --help)\n", argv[optind]);
        return kExitUsage;
    }
    const int arguments = argc - optind - 1;
    char** args = argv + optind + 1;
    if (want_help) {
        command_help(stdout, *command);
        return kExitOk;
    }
    if (name == "help") {
        if (arguments == 0) {
            usage(stdout);
            return kExitOk;
        }
        const Command* about = find_command(args[0]);
        if (!about || arguments > 1) {
            std::fprintf(stderr, "liteipc: help: unknown command '%s'\n", args[0]);
            return kExitUsage;
        }
        command_help(stdout, *about);
        return kExitOk;
    }
    if (name == "version") {
        if (output.as_json) output.print({{"version", LITEIPC_VERSION_STRING}});
        else std::printf("liteipc %s\n", LITEIPC_VERSION_STRING);
        return kExitOk;
    }
    if ((watch_seconds && name != "stats") || (watch_count && name != "stats" && name != "monitor") ||
        (!only_service.empty() && name != "monitor")) {
        std::fprintf(stderr, "liteipc: %s: --watch belongs to stats, --service to monitor, --count to both\n",
                     command->name);
        return kExitUsage;
    }
    if (!reply_types.empty() && name != "call") {
        std::fprintf(stderr, "liteipc: --reply belongs to the call command\n");
        return kExitUsage;
    }
    if (name == "call") {
        if (arguments < 2) {
            std::fprintf(stderr, "liteipc: call: needs SERVICE and CODE\n");
            command_help(stderr, *command);
            return kExitUsage;
        }
        liteipc::cli::CallOptions call{address, std::chrono::milliseconds(timeout_ms), args[0], args[1],
                                       std::vector<std::string>(args + 2, args + arguments), reply_types,
                                       output.as_json};
        return liteipc::cli::run_call(call);
    }
    if (name == "monitor") {
        if (arguments > 0) {
            std::fprintf(stderr, "liteipc: monitor: unexpected argument '%s'\n", args[0]);
            return kExitUsage;
        }
        liteipc::cli::MonitorOptions monitor{address, std::chrono::milliseconds(timeout_ms), only_service,
                                             output.as_json, watch_count};
        return liteipc::cli::run_monitor(monitor);
    }
    if (watch_count && !watch_seconds) {
        std::fprintf(stderr, "liteipc: stats: --count needs --watch\n");
        return kExitUsage;
    }
    const int max_arguments = name == "status" || name == "stats" ? 1 : 0;
    if (arguments > max_arguments) {
        std::fprintf(stderr, "liteipc: %s: unexpected argument '%s'\n", command->name, args[max_arguments]);
        command_help(stderr, *command);
        return kExitUsage;
    }

    auto query = [&]() -> liteipc::Result<LoaderStatus> {
        auto document = liteipc::cli::query_status(address, std::chrono::milliseconds(timeout_ms));
        if (!document) return std::unexpected(document.error());
        return liteipc::cli::parse_loader_status(*document);
    };
    auto status = query();
    if (!status) {
        std::fprintf(stderr, "liteipc: %s\n", status.error().describe().c_str());
        return status.error().code == Errc::malformed ? kExitFailure : exit_for(status.error().code);
    }

    if (name == "stats") {
        const char* only = arguments == 1 ? args[0] : nullptr;
        std::vector<ServiceRecord> before, after;
        if (!select_services(*status, only, before)) {
            std::fprintf(stderr, "liteipc: no service named '%s'\n", only);
            return kExitNotFound;
        }
        if (!watch_seconds) {
            print_stats(before, output);
            return kExitOk;
        }
        // Ctrl-C ends the watch between two intervals: the sleep returns early, nothing more prints.
        struct sigaction interrupt{};
        interrupt.sa_handler = on_interrupt;
        sigaction(SIGINT, &interrupt, nullptr);
        sigaction(SIGTERM, &interrupt, nullptr);
        for (long done = 0; !watch_count || done < watch_count; ++done) {
            timespec left{watch_seconds, 0};
            while (!g_interrupted && nanosleep(&left, &left) != 0) {}
            if (g_interrupted) return kExitOk;
            auto next = query();
            if (!next) {
                std::fprintf(stderr, "liteipc: %s\n", next.error().describe().c_str());
                return exit_for(next.error().code);
            }
            select_services(*next, only, after);
            print_rates(before, after, static_cast<double>(watch_seconds), output);
            before.swap(after);
        }
        return kExitOk;
    }

    if (name == "status" && arguments == 1) {
        for (const auto& s : status->services) {
            if (s.name != args[0]) continue;
            if (output.as_json) output.print({{"service", service_json(s)}});
            else print_service(s);
            return kExitOk;
        }
        std::fprintf(stderr, "liteipc: no service named '%s'\n", args[0]);
        return kExitNotFound;
    }
    if (name == "status") {
        if (output.as_json) output.print(status_json(*status));
        else print_status(*status);
        return kExitOk;
    }
    // list
    if (output.as_json) {
        output.print({{"services", status_json(*status)["services"]}});
        return kExitOk;
    }
    Table services = services_table();
    for (const auto& s : status->services) add_service_row(services, s);
    if (services.empty()) std::printf("no services registered\n");
    else services.print(stdout);
    return kExitOk;
}
