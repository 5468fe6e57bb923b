// liteipc: what a running liteipc looks like, as tables for people or JSON for programs.
// Every command here only reads: none registers a process or changes the loader's state.
#include <getopt.h>

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
     "backed), every registered process and every service. With SERVICE: that service alone.\n"},
    {"list", "list", "services: handle, name, owner pid, policy, connects, denied",
     "One line per registered service.\n"},
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

json service_json(const ServiceRecord& s) {
    return {{"handle", s.handle},   {"name", s.name},         {"pid", s.pid},
            {"policy", liteipc::cli::policy_name(s.policy)}, {"connects", s.connects},
            {"denied", s.denied}};
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
            {"refused", status.refused},
            {"uids", status.uids},
            {"processes", processes},
            {"services", services}};
}

Table services_table() {
    using Align = Table::Align;
    return Table({{"HANDLE", Align::right}, {"NAME", Align::left}, {"PID", Align::right}, {"POLICY", Align::left},
                  {"CONNECTS", Align::right}, {"DENIED", Align::right}});
}

void add_service_row(Table& table, const ServiceRecord& s) {
    table.add_row({std::to_string(s.handle), s.name, std::to_string(s.pid), liteipc::cli::policy_name(s.policy),
                   std::to_string(s.connects), std::to_string(s.denied)});
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

int exit_for(Errc code) {
    switch (code) {
        case Errc::loader_unavailable: return kExitNoLoader;
        case Errc::permission_denied: return kExitNoPermission;
        case Errc::not_found: return kExitNotFound;
        default: return kExitFailure;
    }
}

struct Output {
    bool as_json = false;
    bool pretty = false;
    void print(const json& document) const {
        // error_handler::replace: a name that is not valid UTF-8 prints with U+FFFD, never throws.
        std::printf("%s\n", document.dump(pretty ? 2 : -1, ' ', false, json::error_handler_t::replace).c_str());
    }
};

}  // namespace

int main(int argc, char** argv) {
    liteipc::cli::LoaderAddress address = liteipc::cli::default_address();
    Output output;
    long timeout_ms = 5000;
    bool want_help = false;
    enum { kSocket = 256, kPinRoot, kTimeout, kVersion };
    static const option long_options[] = {{"json", no_argument, nullptr, 'j'},
                                          {"pretty", no_argument, nullptr, 'p'},
                                          {"socket", required_argument, nullptr, kSocket},
                                          {"pin-root", required_argument, nullptr, kPinRoot},
                                          {"timeout", required_argument, nullptr, kTimeout},
                                          {"help", no_argument, nullptr, 'h'},
                                          {"version", no_argument, nullptr, kVersion},
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
    const int max_arguments = name == "status" ? 1 : 0;
    if (arguments > max_arguments) {
        std::fprintf(stderr, "liteipc: %s: unexpected argument '%s'\n", command->name, args[max_arguments]);
        command_help(stderr, *command);
        return kExitUsage;
    }

    auto document = liteipc::cli::query_status(address, std::chrono::milliseconds(timeout_ms));
    if (!document) {
        std::fprintf(stderr, "liteipc: %s\n", document.error().describe().c_str());
        return exit_for(document.error().code);
    }
    auto status = liteipc::cli::parse_loader_status(*document);
    if (!status) {
        std::fprintf(stderr, "liteipc: %s\n", status.error().describe().c_str());
        return kExitFailure;
    }

    if (name == "status" && arguments == 1) {
        for (const auto& s : status->services) {
            if (s.name != args[0]) continue;
            if (output.as_json) {
                output.print({{"service", service_json(s)}});
            } else {
                Table table = services_table();
                add_service_row(table, s);
                table.print(stdout);
            }
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
