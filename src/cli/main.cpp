// liteipc: what a running liteipc looks like, as tables for people or JSON for programs.
#include <getopt.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "liteipc/context.h"
#include "loader_status.h"
#include "table.h"

namespace {

using liteipc::cli::LoaderStatus;
using liteipc::cli::Table;

// Exit statuses: 0 done, 1 liteipc failed (loader down, refused, malformed reply), 2 bad usage.
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

void usage(std::FILE* out) {
    liteipc::ContextOptions defaults;
    std::fprintf(out,
                 "usage: liteipc [options] <command> [--json]\n"
                 "commands:\n"
                 "  status              loader, processes and services\n"
                 "  list                services: handle, name, owner pid, policy, connects, denied\n"
                 "options:\n"
                 "  --json              print the loader's JSON document instead of tables\n"
                 "  --socket PATH       loader control socket (default %s)\n"
                 "  --pin-root DIR      where the loader pinned the kernel plane (default %s)\n"
                 "  --help\n",
                 defaults.socket_path.c_str(), defaults.pin_root.c_str());
}

struct Invocation {
    std::string command;
    bool json = false;
    liteipc::ContextOptions options;
};

void print_status(const LoaderStatus& status, uint32_t self_slot) {
    std::printf("loader     pid %u, pin root %s, socket %s\n", status.loader_pid, status.pin_root.c_str(),
                status.socket.c_str());
    std::printf("processes  %llu alive, %llu dead; deaths seen %llu, records lost %llu\n",
                static_cast<unsigned long long>(status.processes_alive),
                static_cast<unsigned long long>(status.processes_dead),
                static_cast<unsigned long long>(status.deaths_seen),
                static_cast<unsigned long long>(status.records_lost));
    std::printf("pools      %s\n", status.pool_backing.c_str());
    std::printf("services   %zu\n", status.services.size());

    using Align = Table::Align;
    Table processes({{"SLOT", Align::right}, {"PID", Align::right}, {"UID", Align::right},
                     {"GENERATION", Align::right}, {"STATE", Align::left}});
    for (const auto& p : status.processes)
        processes.add_row({std::to_string(p.slot), std::to_string(p.pid), std::to_string(p.uid),
                           std::to_string(p.generation),
                           p.slot == self_slot && p.state == "alive" ? p.state + " (this command)" : p.state});
    std::printf("\n");
    processes.print(stdout);

    if (status.services.empty()) return;
    Table services({{"HANDLE", Align::right}, {"NAME", Align::left}, {"PID", Align::right},
                    {"POLICY", Align::left}, {"CONNECTS", Align::right}, {"DENIED", Align::right}});
    for (const auto& s : status.services)
        services.add_row({std::to_string(s.handle), s.name, std::to_string(s.pid), liteipc::cli::policy_name(s.policy),
                          std::to_string(s.connects), std::to_string(s.denied)});
    std::printf("\n");
    services.print(stdout);
}

void print_list(const LoaderStatus& status) {
    using Align = Table::Align;
    Table services({{"HANDLE", Align::right}, {"NAME", Align::left}, {"PID", Align::right},
                    {"POLICY", Align::left}, {"CONNECTS", Align::right}, {"DENIED", Align::right}});
    for (const auto& s : status.services)
        services.add_row({std::to_string(s.handle), s.name, std::to_string(s.pid), liteipc::cli::policy_name(s.policy),
                          std::to_string(s.connects), std::to_string(s.denied)});
    if (services.empty()) {
        std::printf("no services registered\n");
        return;
    }
    services.print(stdout);
}

// The services alone, as a JSON array, for `list --json`.
std::string services_json(const LoaderStatus& status) {
    nlohmann::json services = nlohmann::json::array();
    for (const auto& s : status.services)
        services.push_back({{"handle", s.handle},
                            {"name", s.name},
                            {"pid", s.pid},
                            {"policy", liteipc::cli::policy_name(s.policy)},
                            {"connects", s.connects},
                            {"denied", s.denied}});
    // error_handler::replace: a name that is not valid UTF-8 prints with U+FFFD, never throws.
    return services.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

int main(int argc, char** argv) {
    Invocation inv;
    static const option long_options[] = {{"json", no_argument, nullptr, 'j'},
                                          {"socket", required_argument, nullptr, 's'},
                                          {"pin-root", required_argument, nullptr, 'p'},
                                          {"help", no_argument, nullptr, 'h'},
                                          {nullptr, 0, nullptr, 0}};
    // GNU getopt_long permutes: options may come before or after the command.
    for (int c; (c = getopt_long(argc, argv, "h", long_options, nullptr)) != -1;) {
        switch (c) {
            case 'j': inv.json = true; break;
            case 's': inv.options.socket_path = optarg; break;
            case 'p': inv.options.pin_root = optarg; break;
            case 'h': usage(stdout); return 0;
            default: usage(stderr); return kExitUsage;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return kExitUsage;
    }
    inv.command = argv[optind];
    if (optind + 1 < argc) {
        std::fprintf(stderr, "liteipc: unexpected argument '%s'\n", argv[optind + 1]);
        usage(stderr);
        return kExitUsage;
    }
    if (inv.command == "help") {
        usage(stdout);
        return 0;
    }
    if (inv.command != "status" && inv.command != "list") {
        std::fprintf(stderr, "liteipc: unknown command '%s'\n", inv.command.c_str());
        usage(stderr);
        return kExitUsage;
    }

    auto context = liteipc::Context::open(inv.options);
    if (!context) {
        std::fprintf(stderr, "liteipc: %s\n", context.error().describe().c_str());
        return kExitFailure;
    }
    auto document = context->loader_status();
    if (!document) {
        std::fprintf(stderr, "liteipc: loader status: %s\n", document.error().describe().c_str());
        return kExitFailure;
    }
    // `status --json` passes the loader's document through untouched.
    if (inv.command == "status" && inv.json) {
        std::printf("%s\n", document->c_str());
        return 0;
    }
    auto status = liteipc::cli::parse_loader_status(*document);
    if (!status) {
        std::fprintf(stderr, "liteipc: %s\n", status.error().describe().c_str());
        return kExitFailure;
    }
    if (inv.command == "status") print_status(*status, context->self().slot);
    else if (inv.json) std::printf("%s\n", services_json(*status).c_str());
    else print_list(*status);
    return 0;
}
