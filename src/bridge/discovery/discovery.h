// The bridge in a cluster: it announces itself and its exports in etcd under a lease it keeps
// alive, watches every host's record, and keeps one import running for each service a
// discovered import asks for on each host that offers it (docs/BRIDGE.md, "A cluster").
//
// The store says where a service is, never who may call it: the importer still connects with
// mutual TLS and expects the certificate of the host the record names (the record's name is
// that host's certificate identity), and the serving bridge still checks its export's allow list.
// A record for a service the import does not take from that host is ignored and logged.
//
// A host whose record goes (its lease expired: crash, partition, power lost; or it stopped) is
// a death: its imports' children are stopped, and the kernel reports their exits to local
// clients. A record that names another address ends the import and starts it anew there. While
// etcd cannot be reached, the imports running go on and none is added or ended; once it answers
// again, the bridge reads every record and catches up.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config.h"
#include "etcd_client.h"
#include "import_supervisor.h"
#include "name_reservation.h"

namespace liteipc::bridge {

// Thread safety: start and stop from one thread; describe from any.
class Discovery {
public:
    Discovery(const BridgeConfig& config, std::string executable, std::string config_path, EtcdClient store);
    Discovery(const Discovery&) = delete;
    Discovery& operator=(const Discovery&) = delete;
    ~Discovery() { stop(); }

    void start();
    // Revokes this host's lease (the others end their imports of it at once) and ends the imports.
    void stop();

    // Adds "discovery" (the store's state, the hosts found, the records ignored) to the bridge's
    // status document, and the discovered imports to its "imports".
    void describe(nlohmann::json& status, const std::map<std::string, NameHolder>& holders) const;

private:
    struct Target {
        size_t rule;  // index in config.discovered_imports
        std::string host, address, service;
    };
    struct Running {
        Target target;
        std::unique_ptr<ImportSupervisor> supervisor;
    };

    void announce();
    void watch();
    // Starts, ends or moves imports to match the records read.
    void follow(const std::map<std::string, std::string>& values);
    void store_reachable();
    void store_unreachable(const std::string& why);
    // Waits `pause` unless stop() comes first; false once stopping.
    bool pause(std::chrono::milliseconds pause);
    // The stream each thread is reading, so that stop() can cancel it.
    void track(grpc::ClientContext** slot, grpc::ClientContext* context);

    const BridgeConfig& config_;
    const DiscoveryConfig& discovery_;
    const std::string executable_, config_path_;
    EtcdClient store_;

    mutable std::mutex mutex_;
    std::condition_variable stopping_changed_;
    bool stopping_ = false;
    grpc::ClientContext* keep_alive_ = nullptr;
    grpc::ClientContext* watching_ = nullptr;
    int64_t lease_ = 0;
    bool reachable_ = false;
    bool outage_logged_ = false;
    std::string unreachable_why_ = "not read yet";
    std::chrono::steady_clock::time_point unreachable_since_ = std::chrono::steady_clock::now();
    std::vector<HostRecord> hosts_;
    std::vector<std::string> ignored_;
    std::map<std::string, Running> imports_;  // by local name
    std::thread announcer_, watcher_;
};

}  // namespace liteipc::bridge
