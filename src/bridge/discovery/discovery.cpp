#include "discovery.h"

#include <algorithm>

#include "common/log.h"

namespace liteipc::bridge {

namespace {

// Between two tries while etcd does not answer.
constexpr auto kRetry = std::chrono::milliseconds(500);

int64_t milliseconds_since(std::chrono::steady_clock::time_point then) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - then).count();
}

}  // namespace

Discovery::Discovery(const BridgeConfig& config, std::string executable, std::string config_path, EtcdClient store)
    : config_(config), discovery_(*config.discovery), executable_(std::move(executable)),
      config_path_(std::move(config_path)), store_(std::move(store)) {}

void Discovery::start() {
    if (!discovery_.announce.empty()) announcer_ = std::thread([this] { announce(); });
    if (!config_.discovered_imports.empty()) watcher_ = std::thread([this] { watch(); });
}

void Discovery::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        stopping_ = true;
        for (auto* context : {keep_alive_, watching_})
            if (context) context->TryCancel();
    }
    stopping_changed_.notify_all();
    if (announcer_.joinable()) announcer_.join();
    if (watcher_.joinable()) watcher_.join();
    // Gone at once for the others, not a lease TTL later.
    if (lease_ != 0)
        if (auto revoked = store_.revoke_lease(lease_); !revoked) LITEIPC_LOG(warn, "leaving the cluster: %s", revoked.error().describe().c_str());
    std::map<std::string, Running> imports;
    {
        std::lock_guard lock(mutex_);
        imports.swap(imports_);
    }
    for (auto& [name, running] : imports) running.supervisor->request_stop();
    imports.clear();  // each supervisor waits for its child
}

bool Discovery::pause(std::chrono::milliseconds pause) {
    std::unique_lock lock(mutex_);
    return !stopping_changed_.wait_for(lock, pause, [&] { return stopping_; });
}

void Discovery::track(grpc::ClientContext** slot, grpc::ClientContext* context) {
    std::lock_guard lock(mutex_);
    *slot = context;
    if (context && stopping_) context->TryCancel();
}

// Announces this host under a lease and keeps the lease alive: a keep-alive every third of its
// TTL. A lease found expired (etcd was out of reach longer than the TTL) is granted again and
// the record written again.
void Discovery::announce() {
    HostRecord self{discovery_.name, discovery_.announce, {}};
    for (const auto& exported : config_.exports) self.exports.push_back(exported.service);
    const std::string key = discovery_.prefix + self.name, value = to_json(self).dump();
    bool failing = false;
    auto report = [&](const std::string& what) {
        if (!failing)
            LITEIPC_LOG(warn, "announcing %s: %s; trying again every %lld ms", self.name.c_str(), what.c_str(),
                        static_cast<long long>(kRetry.count()));
        failing = true;
    };
    int64_t lease = 0;
    std::chrono::seconds ttl = discovery_.lease_ttl;
    do {
        if (lease == 0) {
            auto granted = store_.grant_lease(discovery_.lease_ttl);
            if (!granted) {
                report(granted.error().describe());
                continue;
            }
            if (auto put = store_.put(key, value, *granted); !put) {
                report(put.error().describe());
                (void)store_.revoke_lease(*granted);
                continue;
            }
            lease = *granted;
            {
                std::lock_guard lock(mutex_);
                lease_ = lease;
            }
            failing = false;
            LITEIPC_LOG(info, "announced %s at %s with %zu exports under %s (lease TTL %lld s)", self.name.c_str(),
                        self.address.c_str(), self.exports.size(), key.c_str(), static_cast<long long>(ttl.count()));
        }
        grpc::ClientContext context;
        auto stream = store_.keep_alive(context);
        track(&keep_alive_, &context);
        etcdserverpb::LeaseKeepAliveRequest request;
        request.set_id(lease);
        etcdserverpb::LeaseKeepAliveResponse response;
        for (;;) {
            if (!stream->write(request) || !stream->read(&response)) break;
            if (response.ttl() <= 0) {
                LITEIPC_LOG(warn, "lease of %s expired while etcd was out of reach: announcing again", self.name.c_str());
                lease = 0;
                break;
            }
            ttl = std::chrono::seconds(response.ttl());
            if (failing) LITEIPC_LOG(info, "announcing %s: etcd answers again", self.name.c_str());
            failing = false;
            if (!pause(std::chrono::duration_cast<std::chrono::milliseconds>(ttl) / 3)) break;
        }
        context.TryCancel();
        const grpc::Status end = stream->finish();
        track(&keep_alive_, nullptr);
        if (lease != 0 && !end.ok() && end.error_code() != grpc::StatusCode::CANCELLED)
            report("keep-alive ended: " + std::to_string(end.error_code()) + " " + end.error_message());
    } while (pause(lease == 0 && !failing ? std::chrono::milliseconds(0) : kRetry));
}

// Reads every record, follows them, then watches for changes from the revision read; when the
// watch or a read fails, the imports stay as they are until a read succeeds again.
void Discovery::watch() {
    do {
        auto snapshot = store_.read_prefix(discovery_.prefix);
        if (!snapshot) {
            store_unreachable(snapshot.error().describe());
            continue;
        }
        store_reachable();
        follow(snapshot->values);
        grpc::ClientContext context;
        auto stream = store_.watch(context, discovery_.prefix, snapshot->revision + 1);
        track(&watching_, &context);
        etcdserverpb::WatchResponse response;
        std::string why = "watch ended";
        while (stream->read(&response)) {
            if (response.canceled() || response.compact_revision() != 0) {
                why = "watch cancelled by etcd: " + response.cancel_reason();
                break;
            }
            for (const auto& event : response.events()) {
                if (event.type() == etcdserverpb::Event::PUT) snapshot->values[event.kv().key()] = event.kv().value();
                else snapshot->values.erase(event.kv().key());
            }
            if (response.events_size() > 0) follow(snapshot->values);
        }
        context.TryCancel();
        const grpc::Status end = stream->finish();
        track(&watching_, nullptr);
        if (!end.ok()) why += ": " + std::to_string(end.error_code()) + " " + end.error_message();
        if (pause(std::chrono::milliseconds(0))) store_unreachable(why);
    } while (pause(kRetry));
}

void Discovery::store_reachable() {
    std::lock_guard lock(mutex_);
    if (reachable_) return;
    reachable_ = true;
    if (!outage_logged_) LITEIPC_LOG(info, "etcd answers: following the cluster's records");
    else
        LITEIPC_LOG(info, "etcd answers: following the cluster's records again after %lld ms",
                    static_cast<long long>(milliseconds_since(unreachable_since_)));
    outage_logged_ = false;
}

// Said once per outage: the reason in the status follows the latest failure.
void Discovery::store_unreachable(const std::string& why) {
    std::lock_guard lock(mutex_);
    if (reachable_ || !outage_logged_) unreachable_since_ = std::chrono::steady_clock::now();
    reachable_ = false;
    unreachable_why_ = why;
    if (outage_logged_) return;
    outage_logged_ = true;
    LITEIPC_LOG(warn, "etcd out of reach (%s): imports running go on, none is found or ended until it answers", why.c_str());
}

void Discovery::follow(const std::map<std::string, std::string>& values) {
    std::vector<HostRecord> hosts;
    std::vector<std::string> ignored;
    std::map<std::string, Target> wanted;  // by local name
    for (const auto& [key, value] : values) {
        auto record = host_record(discovery_.prefix, key, value);
        if (!record) {
            ignored.push_back(record.error().message);
            continue;
        }
        hosts.push_back(*record);
        if (record->name == discovery_.name) continue;
        for (const auto& service : record->exports) {
            for (size_t rule = 0; rule < config_.discovered_imports.size(); ++rule) {
                const DiscoveredImport& found = config_.discovered_imports[rule];
                if (found.service != service) continue;
                if (!host_matches(found.hosts, record->name)) {
                    ignored.push_back("host " + record->name + " announces " + service +
                                      ", which this bridge imports only from hosts matching '" + found.hosts + "'");
                    continue;
                }
                const std::string local_name = std::string(kImportPrefix) + record->name + "." + service;
                if (local_name.size() <= 255) wanted.try_emplace(local_name, Target{rule, record->name, record->address, service});
            }
        }
    }

    std::vector<std::unique_ptr<ImportSupervisor>> ending;
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        for (const auto& reason : ignored)
            if (std::ranges::find(ignored_, reason) == ignored_.end()) LITEIPC_LOG(warn, "ignored: %s", reason.c_str());
        ignored_ = std::move(ignored);
        hosts_ = std::move(hosts);
        for (auto it = imports_.begin(); it != imports_.end();) {
            auto want = wanted.find(it->first);
            if (want != wanted.end() && want->second.address == it->second.target.address) {
                ++it;
                continue;
            }
            // Never a silent switch: the import at the old address ends (a death to its clients)
            // before one at the new address is started.
            const std::string& host = it->second.target.host;
            const bool host_left = std::ranges::none_of(hosts_, [&](const HostRecord& r) { return r.name == host; });
            const std::string why = want != wanted.end() ? "moved from " + it->second.target.address + " to " + want->second.address
                                    : host_left          ? host + " left the cluster (its lease ran out, or it stopped)"
                                                         : host + " no longer offers " + it->second.target.service;
            LITEIPC_LOG(info, "%s: %s: ending the import", it->first.c_str(), why.c_str());
            it->second.supervisor->request_stop();
            ending.push_back(std::move(it->second.supervisor));
            it = imports_.erase(it);
        }
    }
    ending.clear();  // waits for their children: each exit is the import's death
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    for (auto& [local_name, target] : wanted) {
        if (imports_.contains(local_name)) continue;
        LITEIPC_LOG(info, "found %s on %s at %s: importing it as %s", target.service.c_str(), target.host.c_str(),
                    target.address.c_str(), local_name.c_str());
        auto supervisor = std::make_unique<ImportSupervisor>(
            executable_,
            std::vector<std::string>{"--config", config_path_, "--discovered", std::to_string(target.rule), "--host",
                                     target.host, "--address", target.address},
            local_name);
        supervisor->start();
        imports_.emplace(local_name, Running{target, std::move(supervisor)});
    }
}

void Discovery::describe(nlohmann::json& status, const std::map<std::string, NameHolder>& holders) const {
    std::lock_guard lock(mutex_);
    nlohmann::json hosts = nlohmann::json::array();
    for (const auto& host : hosts_) hosts.push_back(to_json(host));
    status["discovery"] = {{"name", discovery_.name},
                           {"store", reachable_ ? "reachable" : "unreachable"},
                           {"lease", lease_},
                           {"hosts", hosts},
                           {"ignored", ignored_}};
    if (!reachable_) {
        status["discovery"]["store_error"] = unreachable_why_;
        status["discovery"]["unreachable_ms"] = milliseconds_since(unreachable_since_);
    }
    for (const auto& [local_name, running] : imports_) {
        const pid_t pid = running.supervisor->pid();
        const auto holder = holders.find(local_name);
        status["imports"].push_back({{"service", local_name},
                                     {"host", running.target.host},
                                     {"address", running.target.address},
                                     {"pid", pid},
                                     {"starts", running.supervisor->starts()},
                                     {"registered", pid > 0 && holder != holders.end() && holder->second.pid == pid},
                                     {"name_taken", running.supervisor->name_taken()}});
    }
}

}  // namespace liteipc::bridge
