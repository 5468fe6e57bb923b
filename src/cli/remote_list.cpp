#include "remote_list.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "liteipc/ipc.h"
#include "table.h"

namespace liteipc::cli {

namespace {

int failed(const char* what, const std::string& why, int status) {
    std::fprintf(stderr, "liteipc: list --remote: %s: %s\n", what, why.c_str());
    return status;
}

}  // namespace

int run_list_remote(const CallCommandOptions& options) {
    auto context = open_context(options.address, options.timeout);
    if (!context) return failed("loader", context.error().describe(), context.error().code == Errc::loader_unavailable ? 3 : 1);
    auto bridge = Connection::open(*context, options.service);
    if (!bridge) return failed(options.service.c_str(), bridge.error().describe() + " (is liteipc-bridge running?)", 5);
    Request request(*bridge);
    auto reply = bridge->call(1, request);  // the bridge's counters and discovery (docs/BRIDGE.md)
    if (!reply) return failed(options.service.c_str(), reply.error().describe(), 1);
    nlohmann::json status;
    try {
        status = nlohmann::json::parse(reply->reader().read_string());
    } catch (const nlohmann::json::exception& e) {
        return failed(options.service.c_str(), std::string("not a status document: ") + e.what(), 1);
    }
    if (!status.contains("discovery"))
        return failed(options.service.c_str(), "this bridge has no discovery configured (docs/BRIDGE.md)", 1);
    const auto& discovery = status["discovery"];
    // Which announced service this host imports, under which name.
    std::map<std::pair<std::string, std::string>, nlohmann::json> imported;
    for (const auto& import : status.value("imports", nlohmann::json::array()))
        if (import.contains("host"))
            imported[{import.value("host", ""), import.value("service", "")}] = import;
    nlohmann::json offers = nlohmann::json::array();
    for (const auto& host : discovery.value("hosts", nlohmann::json::array())) {
        if (host.value("exports", nlohmann::json::array()).empty())  // a host that only imports
            offers.push_back({{"host", host.value("name", "")}, {"address", host.value("address", "")}, {"service", ""},
                              {"imported_as", ""}, {"registered", false}});
        for (const auto& service : host.value("exports", nlohmann::json::array())) {
            const std::string name = host.value("name", ""), local = "remote." + name + "." + service.get<std::string>();
            auto import = imported.find({name, local});
            offers.push_back({{"host", name},
                              {"address", host.value("address", "")},
                              {"service", service},
                              {"imported_as", import == imported.end() ? "" : local},
                              {"registered", import != imported.end() && import->second.value("registered", false)}});
        }
    }
    if (options.json) {
        std::printf("%s\n", nlohmann::json({{"remote", {{"store", discovery.value("store", "")},
                                                         {"store_error", discovery.value("store_error", "")},
                                                         {"this_host", discovery.value("name", "")},
                                                         {"offers", offers},
                                                         {"ignored", discovery.value("ignored", nlohmann::json::array())}}}})
                                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                                .c_str());
        return 0;
    }
    if (discovery.value("store", "") == "reachable") std::printf("etcd: reachable\n");
    else
        std::printf("etcd: out of reach for %lld ms (%s): imports running go on, none is found or ended\n",
                    discovery.value("unreachable_ms", 0LL), discovery.value("store_error", "").c_str());
    Table table({{"HOST"}, {"ADDRESS"}, {"SERVICE"}, {"IMPORTED AS"}});
    for (const auto& offer : offers) {
        std::string as = offer["imported_as"].get<std::string>();
        if (as.empty()) as = offer["host"] == discovery.value("name", "") ? "(this host)" : "-";
        if (offer["service"] == "") as = "-";
        else if (!offer["registered"].get<bool>()) as += " (not registered now)";
        const std::string service = offer["service"];
        table.add_row({offer["host"], offer["address"], service.empty() ? "-" : service, as});
    }
    if (table.empty()) std::printf("no host announces a service\n");
    else table.print(stdout);
    for (const auto& reason : discovery.value("ignored", nlohmann::json::array()))
        std::printf("ignored: %s\n", reason.get<std::string>().c_str());
    return 0;
}

}  // namespace liteipc::cli
