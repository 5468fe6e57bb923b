// liteipc-bridge: exports chosen local liteipc services over gRPC (mTLS) and imports remote
// ones as local services named remote.<peer>.<service>. See docs/BRIDGE.md.
//
//   liteipc-bridge --config /etc/liteipc/bridge.json
//
// The parent serves the exports and the status service and keeps one child per import running;
// a child is this same program started with --import N --parent PID.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "capped_listener.h"
#include "common/log.h"
#include "common/stderr_log.h"
#include "discovery/discovery.h"
#include "export_server.h"
#include "import_child.h"
#include "import_supervisor.h"
#include "liteipc/version.h"
#include "name_reservation.h"
#include "tls.h"
#include "wire.h"

namespace liteipc::bridge {
namespace {

// Every line of this process, its own and libliteipc's, goes through liteipc's log (the level from
// LITEIPC_LOG_LEVEL, default info here; the rate limit) to stderr, led by the process and its
// role ("bridge" in the parent, "import <local name>" in a child) so that a parent's lines and its
// children's can be told apart, and by its priority when stderr is the journal:
//   liteipc-bridge[16565] bridge: info main.cpp:106: listening on 10.213.0.2:7443, 1 exports
void log_as(const std::string& role) {
    ::setenv("LITEIPC_LOG_LEVEL", "info", 0);  // a daemon's starts, stops and refusals are its record
    detail::log_to_stderr([lead = "liteipc-bridge[" + std::to_string(::getpid()) + "] " + role + ": "] { return lead; });
}

// SIGTERM and SIGINT stop the bridge: blocked in main before any thread starts, so that
// wait_for_stop, in the parent or in an import child, is the one place they arrive.
sigset_t stop_signals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    return signals;
}
void wait_for_stop() {
    const sigset_t signals = stop_signals();
    int signal_number = 0;
    sigwait(&signals, &signal_number);
}

struct Arguments {
    std::string config_path;
    long import_index = -1;  // >= 0: run as the child of that import
    long discovered_index = -1;  // >= 0: run as the child of that discovered import, from:
    std::string host, address;   // the host found through the store, and its address
    pid_t parent = 0;
};

void usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: liteipc-bridge --config FILE\n"
                 "Exports chosen local liteipc services over gRPC with mutual TLS and imports other hosts'\n"
                 "services as local ones named remote.<peer>.<service>.\n\n"
                 "  --config FILE  the bridge's JSON config (the package's unit: /etc/liteipc/bridge.json)\n"
                 "  --version      the version\n"
                 "  --help         this text\n"
                 "Exit status: 0 stopped by SIGTERM or SIGINT, 1 failed, 2 bad command line or config.\n"
                 "See liteipc-bridge(8).\n");
}

// The counters as the status service answers them (code 1, one string). An import is
// "registered" when the loader lists its name as its child's.
std::string status_document(const Context& context, const BridgeConfig& config, const ExportCounters& counters,
                            const ConnectionCounters& connections,
                            const std::vector<std::unique_ptr<ImportSupervisor>>& imports, const Discovery* discovery) {
    const auto holders = name_holders(context).value_or(std::map<std::string, NameHolder>{});
    nlohmann::json doc;
    doc["listen"] = config.listen;
    doc["exports"] = {{"calls", counters.calls.load()},     {"oneway", counters.oneway.load()},
                      {"refused", counters.refused.load()}, {"failed", counters.failed.load()},
                      {"watches", counters.watches.load()}, {"streams", counters.streams.load()},
                      {"over_limit", counters.over_limit.load()}};
    doc["connections"] = {{"open", connections.open.load()},
                          {"accepted", connections.accepted.load()},
                          {"refused", connections.refused.load()}};
    doc["imports"] = nlohmann::json::array();
    for (const auto& import : imports) {
        const auto holder = holders.find(import->local_name());
        doc["imports"].push_back({{"service", import->local_name()},
                                  {"pid", import->pid()},
                                  {"starts", import->starts()},
                                  {"registered", import->pid() > 0 && holder != holders.end() && holder->second.pid == import->pid()},
                                  {"name_taken", import->name_taken()}});
    }
    if (discovery) discovery->describe(doc, holders);
    return doc.dump();
}

// Gives back to the system, every few seconds, what gRPC freed: a flood of connections leaves
// hundreds of MB free inside malloc's heap otherwise, and the next flood adds to it (measured:
// docs/BRIDGE.md, "What strangers and peers can make it hold").
void return_freed_memory_periodically() {
    std::thread([] {
        for (;;) {
            std::this_thread::sleep_for(std::chrono::seconds(5));
            ::malloc_trim(0);
        }
    }).detach();
}

// What a child serves: a configured import and its peer, or a discovered one (the host found in
// the store is the peer: its name is its certificate's identity).
std::optional<std::pair<Import, Peer>> import_of(const Arguments& arguments, const BridgeConfig& config) {
    if (arguments.import_index >= 0) {
        if (static_cast<size_t>(arguments.import_index) >= config.imports.size()) return std::nullopt;
        const Import& import = config.imports[static_cast<size_t>(arguments.import_index)];
        return std::pair{import, *config.peer_named(import.peer)};
    }
    if (static_cast<size_t>(arguments.discovered_index) >= config.discovered_imports.size() || arguments.host.empty())
        return std::nullopt;
    const DiscoveredImport& found = config.discovered_imports[static_cast<size_t>(arguments.discovered_index)];
    Import import{arguments.host, found.service, found.policy, found.workers};
    return std::pair{import, Peer{arguments.host, arguments.host, arguments.address, 0}};
}

int run_parent(const Arguments& arguments, const BridgeConfig& config) {
    auto context = Context::open(config.context_options());
    if (!context) {
        LITEIPC_LOG(error, "liteipc context: %s", context.error().describe().c_str());
        return 1;
    }
    // Imported names are taken by whoever registers them first: refuse to run unless they are ours.
    if (!config.imports.empty() || !config.discovered_imports.empty())
        if (auto reserved = check_loader_reserves(*context, kImportPrefix); !reserved) {
            LITEIPC_LOG(error, "refusing to import: %s", reserved.error().describe().c_str());
            return 1;
        }
    ExportCounters counters;
    ConnectionCounters connections;
    // Made before the status service reads them, started once the exports are served.
    char executable[4096];
    const ssize_t length = ::readlink("/proc/self/exe", executable, sizeof executable - 1);
    if (length <= 0) {
        LITEIPC_LOG(error, "cannot read /proc/self/exe");
        return 1;
    }
    executable[length] = '\0';
    std::vector<std::unique_ptr<ImportSupervisor>> imports;
    for (size_t i = 0; i < config.imports.size(); ++i)
        imports.push_back(std::make_unique<ImportSupervisor>(
            executable, std::vector<std::string>{"--config", arguments.config_path, "--import", std::to_string(i)},
            config.imports[i].local_name()));

    std::unique_ptr<Discovery> discovery;
    if (config.discovery) {
        auto store = EtcdClient::connect(*config.discovery);
        if (!store) {
            LITEIPC_LOG(error, "%s", store.error().describe().c_str());
            return 1;
        }
        discovery = std::make_unique<Discovery>(config, executable, arguments.config_path, std::move(*store));
    }

    ServiceOptions status_options;
    status_options.name = config.status_service;
    status_options.policy = Policy::anyone;
    status_options.workers = 1;
    auto status_service = Service::start(*context, status_options, [&](Call& call) -> int32_t {
        if (call.code() != 1) return kStatusMalformed;
        call.reply().write_string(status_document(*context, config, counters, connections, imports, discovery.get()));
        return 0;
    });
    if (!status_service) {
        LITEIPC_LOG(error, "status service %s: %s", config.status_service.c_str(), status_service.error().describe().c_str());
        return 1;
    }

    ExportService exports(config, *context, counters);
    std::unique_ptr<grpc::Server> server;
    std::unique_ptr<CappedListener> listener;  // stopped before the server it hands connections to
    if (!config.listen.empty()) {
        auto credentials = server_credentials(config);
        if (!credentials) {
            LITEIPC_LOG(error, "TLS: %s", credentials.error().describe().c_str());
            return 1;
        }
        auto listening = CappedListener::listen(config.listen, config.limits, connections);
        if (!listening) {
            LITEIPC_LOG(error, "cannot listen on %s: %s", config.listen.c_str(), listening.error().describe().c_str());
            return 1;
        }
        grpc::ServerBuilder builder;
        configure_server(builder, config);
        // Connections come from our own accept loop, which counts them (capped_listener.h).
        auto acceptor = builder.experimental().AddExternalConnectionAcceptor(
            grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD, *credentials);
        exports.add_to(builder);
        server = builder.BuildAndStart();
        if (!server) {
            LITEIPC_LOG(error, "cannot start the gRPC server for %s", config.listen.c_str());
            return 1;
        }
        exports.start();
        listener = std::move(*listening);
        listener->start(std::move(acceptor));
        LITEIPC_LOG(info, "listening on %s, %zu exports", config.listen.c_str(), config.exports.size());
    }

    for (auto& import : imports) import->start();
    if (discovery) discovery->start();
    return_freed_memory_periodically();

    wait_for_stop();
    LITEIPC_LOG(info, "stopping");
    if (discovery) discovery->stop();
    for (auto& import : imports) import->stop();
    listener.reset();
    if (server) {
        // Calls still in a local service keep their handlers: give them a moment, then go
        // without them (their callers on the other host see this bridge's loss).
        auto shutdown = std::async(std::launch::async, [&] {
            server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
            exports.stop();
        });
        if (shutdown.wait_for(std::chrono::seconds(2)) == std::future_status::timeout) {
            LITEIPC_LOG(warn, "calls still pending in local services: stopping without them");
            std::fflush(stderr);
            ::_exit(0);
        }
    }
    return 0;
}

}  // namespace
}  // namespace liteipc::bridge

int main(int argc, char** argv) {
    using namespace liteipc::bridge;
    log_as("bridge");
    const sigset_t stop = stop_signals();
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    Arguments arguments;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help") {
            usage(stdout);
            return 0;
        }
        if (arg == "--version") {
            std::printf("liteipc-bridge %s\n", LITEIPC_VERSION_STRING);
            return 0;
        }
        if (arg == "--config" && i + 1 < argc) arguments.config_path = argv[++i];
        else if (arg == "--import" && i + 1 < argc) arguments.import_index = std::strtol(argv[++i], nullptr, 10);
        else if (arg == "--discovered" && i + 1 < argc) arguments.discovered_index = std::strtol(argv[++i], nullptr, 10);
        else if (arg == "--host" && i + 1 < argc) arguments.host = argv[++i];
        else if (arg == "--address" && i + 1 < argc) arguments.address = argv[++i];
        else if (arg == "--parent" && i + 1 < argc) arguments.parent = static_cast<pid_t>(std::strtol(argv[++i], nullptr, 10));
        else {
            usage(stderr);
            return 2;
        }
    }
    if (arguments.config_path.empty()) {
        usage(stderr);
        return 2;
    }
    auto config = load_config(arguments.config_path);
    if (!config) {
        LITEIPC_LOG(error, "%s", config.error().describe().c_str());
        return 2;
    }
    if (arguments.import_index >= 0 || arguments.discovered_index >= 0) {
        // A child never outlives its parent: a restarted bridge starts its own children.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != arguments.parent) return kExitFailed;
        auto job = import_of(arguments, *config);
        if (!job) return kExitFailed;
        log_as("import " + job->first.local_name());
        const int status = run_import_child(*config, job->first, job->second, wait_for_stop);
        std::fflush(stderr);
        ::_exit(status);  // gRPC's threads are not torn down one by one
    }
    return run_parent(arguments, *config);
}
