// A cluster on this machine for the discovery tests: hosts in network namespaces joined by a
// Linux bridge in a namespace of its own (a switch), each host with its own liteipc-loader
// (private pin root and socket) and liteipc-bridge; hosts a, b and c each also run one member of
// a three-member etcd cluster (TLS for clients and peers, data in the private temporary
// directory). Two CAs, made by the openssl CLI: one for the bridges (certificate CN = host
// name), one for etcd (its members, the bridges' etcd client certificates, CN bridge-<host>, and
// root's, which only the test holds). etcd's role-based access gives each bridge's user write on
// its own record alone and read on the others (restrict_store). Everything is created here and
// removed in the destructor.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loader_fixture.h"
#include "spawned.h"

namespace liteipc::testing {

struct ClusterHost {
    std::string name;     // also its certificate CN and its name in the store
    std::string netns, veth, address;
    std::unique_ptr<Loader> loader;
    std::unique_ptr<Spawned> bridge, etcd;
    std::string config_path;
    std::vector<std::unique_ptr<Spawned>> processes;
    std::vector<std::string> loader_args() const { return {"--socket", loader->socket(), "--pin-root", loader->pin_root()}; }
};

class Cluster {
public:
    static constexpr uint16_t kBridgePort = 7443;
    static constexpr int kLeaseTtlS = 2;
    // etcd's timings in the tests: a leader lost is replaced within about the election timeout.
    static constexpr int kHeartbeatMs = 50, kElectionMs = 500;
    static constexpr const char* kLoaderPolicy = "own remote.* by uid:0\nunlisted_names = anyone\n";

    Cluster() : tag_(std::to_string(::getpid())) {
        char pattern[] = "/tmp/liteipc-cluster-test-XXXXXX";
        dir_ = ::mkdtemp(pattern) ? pattern : "";
        std::ofstream(dir_ + "/loader.conf") << kLoaderPolicy;
        switch_ns_ = "liteipc-cl" + tag_ + "sw";
    }
    ~Cluster() { tear_down(); }

    // The switch, hosts a, b and c with their loaders, both CAs and every certificate.
    ::testing::AssertionResult start() {
        if (dir_.empty()) return ::testing::AssertionFailure() << "mkdtemp failed";
        if (quiet("ip netns add " + switch_ns_) != 0) return ::testing::AssertionFailure() << "ip netns add failed";
        switch_made_ = true;
        if (quiet("ip -n " + switch_ns_ + " link add sw type bridge") != 0 || quiet("ip -n " + switch_ns_ + " link set sw up") != 0)
            return ::testing::AssertionFailure() << "the switch (a Linux bridge) not made";
        if (auto made = make_certificates(); !made) return made;
        for (const char* name : {"a", "b", "c"})
            if (auto added = add_host(name); !added) return added;
        return ::testing::AssertionSuccess();
    }

    // A host joined to the switch, with its loader started (hosts a..d: 10.214.0.1..4).
    ::testing::AssertionResult add_host(const std::string& name) {
        ClusterHost& host = hosts_[name];
        host.name = name;
        host.netns = "liteipc-cl" + tag_ + name;
        host.veth = "lcl" + tag_ + name;
        host.address = "10.214.0." + std::to_string(name[0] - 'a' + 1);
        host.loader = std::make_unique<Loader>("cluster-" + name, std::vector<std::string>{"--config", dir_ + "/loader.conf"});
        if (quiet("ip netns add " + host.netns) != 0) return ::testing::AssertionFailure() << "ip netns add " << host.netns;
        const std::string in = "ip -n " + host.netns + " ", sw = "ip -n " + switch_ns_ + " ";
        if (quiet("ip link add " + host.veth + " netns " + host.netns + " type veth peer name p" + name + " netns " + switch_ns_) != 0 ||
            quiet(sw + "link set p" + name + " master sw") != 0 || quiet(sw + "link set p" + name + " up") != 0 ||
            quiet(in + "addr add " + host.address + "/24 dev " + host.veth) != 0 ||
            quiet(in + "link set " + host.veth + " up") != 0 || quiet(in + "link set lo up") != 0)
            return ::testing::AssertionFailure() << "linking " << host.netns << " to the switch failed";
        return host.loader->start();
    }

    // Cuts host's link at the switch: no packet, no reset reaches it or leaves it.
    bool cut_link(const ClusterHost& host) { return quiet("ip -n " + switch_ns_ + " link set p" + host.name + " down") == 0; }

    ClusterHost& host(const std::string& name) { return hosts_.at(name); }
    int keepalive_ms = 500;  // the bridges' gRPC keepalive (a cut link's bound without the store)
    const std::string& dir() const { return dir_; }
    std::string certs() const { return dir_ + "/certs"; }

    // The etcd endpoints, as a JSON array.
    std::string endpoints() const {
        return R"(["10.214.0.1:2379","10.214.0.2:2379","10.214.0.3:2379"])";
    }

    // Starts (or restarts, on its data) host's etcd member.
    void start_etcd(ClusterHost& host) {
        const std::string c = certs(), url = "https://" + host.address;
        std::vector<std::string> argv{"/usr/bin/nsenter", "--net=/run/netns/" + host.netns, "/usr/bin/etcd",
                                      "--name", host.name, "--data-dir", dir_ + "/etcd-" + host.name,
                                      "--listen-client-urls", url + ":2379", "--advertise-client-urls", url + ":2379",
                                      "--listen-peer-urls", url + ":2380", "--initial-advertise-peer-urls", url + ":2380",
                                      "--initial-cluster",
                                      "a=https://10.214.0.1:2380,b=https://10.214.0.2:2380,c=https://10.214.0.3:2380",
                                      "--initial-cluster-state", "new", "--initial-cluster-token", "liteipc-" + tag_,
                                      "--heartbeat-interval", std::to_string(kHeartbeatMs),
                                      "--election-timeout", std::to_string(kElectionMs),
                                      "--client-cert-auth", "--trusted-ca-file", c + "/etcd-ca.pem",
                                      "--cert-file", c + "/etcd-" + host.name + ".pem", "--key-file", c + "/etcd-" + host.name + ".key",
                                      "--peer-client-cert-auth", "--peer-trusted-ca-file", c + "/etcd-ca.pem",
                                      "--peer-cert-file", c + "/etcd-" + host.name + ".pem", "--peer-key-file", c + "/etcd-" + host.name + ".key",
                                      "--logger", "zap", "--log-level", "warn"};
        host.etcd = std::make_unique<Spawned>(argv, dir_ + "/etcd-" + host.name + ".log");
    }

    // etcdctl against host's member, as the holder of etcd client certificate `who`
    // (etcd-client-<who>: "root" or a host's); its output in `out` when given.
    int etcdctl(const ClusterHost& host, const std::string& who, const std::string& args, const std::string& out = "") {
        const std::string c = certs();
        const std::string command = "nsenter --net=/run/netns/" + host.netns + " /usr/bin/etcdctl --endpoints https://" +
                                    host.address + ":2379 --cacert " + c + "/etcd-ca.pem --cert " + c + "/etcd-client-" + who +
                                    ".pem --key " + c + "/etcd-client-" + who + ".key --command-timeout 5s " + args;
        return out.empty() ? quiet(command) : shell(command + " > " + out + " 2>&1");
    }

    // etcd's role-based access, then auth on: with --client-cert-auth a client is the user its
    // certificate's CN names. Each host's bridge (user bridge-<h>, role host-<h>) may write its
    // own record alone (the exact key, so that host c cannot write /liteipc/hosts/cd) and read
    // every record; only root administers. For hosts a..d, whether started yet or not.
    ::testing::AssertionResult restrict_store() {
        ClusterHost& a = host("a");
        if (!eventually([&] { return etcdctl(a, "root", "endpoint health") == 0; }, std::chrono::seconds(30)))
            return ::testing::AssertionFailure() << "etcd has no leader after 30 s";
        std::vector<std::string> steps{"user add root:" + tag_ + "-root", "user grant-role root root"};
        for (const std::string name : {"a", "b", "c", "d"}) {
            const std::string role = "host-" + name, user = "bridge-" + name;
            steps.push_back("role add " + role);
            steps.push_back("role grant-permission " + role + " readwrite " + std::string(kPrefix) + name);
            steps.push_back("role grant-permission " + role + " read --prefix=true " + std::string(kPrefix));
            steps.push_back("user add " + user + ":" + tag_ + "-" + name);
            steps.push_back("user grant-role " + user + " " + role);
        }
        steps.push_back("auth enable");
        for (const auto& step : steps)
            if (etcdctl(a, "root", step) != 0) return ::testing::AssertionFailure() << "etcdctl " << step << " failed";
        return ::testing::AssertionSuccess();
    }
    static constexpr const char* kPrefix = "/liteipc/hosts/";

    // Writes host's bridge config: its TLS files, its loader, discovery through the etcd
    // cluster, and `body` (peers, exports, imports).
    void write_config(ClusterHost& host, const std::string& body, uint16_t port = kBridgePort) {
        const std::string c = certs();
        host.config_path = dir_ + "/" + host.name + ".json";
        std::ofstream(host.config_path)
            << "{\"listen\":\"" << host.address << ":" << port << "\",\"socket\":\"" << host.loader->socket()
            << "\",\"pin_root\":\"" << host.loader->pin_root() << "\",\"keepalive_ms\":" << keepalive_ms << ","
            << "\"tls\":{\"ca\":\"" << c << "/ca.pem\",\"cert\":\"" << c << "/" << host.name << ".pem\",\"key\":\"" << c
            << "/" << host.name << ".key\"},"
            << "\"discovery\":{\"name\":\"" << host.name << "\",\"endpoints\":" << endpoints()
            << ",\"lease_ttl_s\":" << kLeaseTtlS << ",\"tls\":{\"ca\":\"" << c << "/etcd-ca.pem\",\"cert\":\"" << c
            << "/etcd-client-" << host.name << ".pem\",\"key\":\"" << c << "/etcd-client-" << host.name << ".key\"}},"
            << body << "}";
    }

    void start_bridge(ClusterHost& host) {
        host.bridge = std::make_unique<Spawned>(
            std::vector<std::string>{"/usr/bin/nsenter", "--net=/run/netns/" + host.netns, LITEIPC_BRIDGE_PATH,
                                     "--config", host.config_path},
            dir_ + "/bridge-" + host.name + ".log");
    }

    Spawned& run_on(ClusterHost& host, std::vector<std::string> argv, const std::string& log_name) {
        for (auto& arg : host.loader_args()) argv.push_back(arg);
        host.processes.push_back(std::make_unique<Spawned>(std::move(argv), dir_ + "/" + log_name + ".log"));
        return *host.processes.back();
    }

    std::string services_on(ClusterHost& host) {
        const std::string out = dir_ + "/list-" + host.name + ".txt";
        shell(std::string(LITEIPC_CLI_PATH) + " list --socket " + host.loader->socket() + " --pin-root " +
              host.loader->pin_root() + " > " + out + " 2>/dev/null");
        return read_text(out);
    }
    bool has_service(ClusterHost& host, const std::string& name) { return services_on(host).find(name) != std::string::npos; }

    // Everything made here, gone: processes, bridges, etcd members, loaders, namespaces, files.
    void tear_down() {
        for (auto& [name, host] : hosts_) host.processes.clear();
        for (auto& [name, host] : hosts_) {
            if (host.bridge) host.bridge->kill(SIGTERM);
            host.bridge.reset();
            host.etcd.reset();
            if (host.loader) {
                host.loader->stop();
                host.loader->unload();
            }
            quiet("ip netns del " + host.netns);
        }
        if (switch_made_) quiet("ip netns del " + switch_ns_);
        switch_made_ = false;
        if (!dir_.empty() && !std::getenv("LITEIPC_BRIDGE_TEST_KEEP")) quiet("rm -rf " + dir_);
    }

    std::string leftovers() const {
        std::string left;
        for (const auto& [name, host] : hosts_) {
            if (::access(("/run/netns/" + host.netns).c_str(), F_OK) == 0) left += "netns " + host.netns + "; ";
            if (::access(host.loader->pin_root().c_str(), F_OK) == 0) left += "pin root " + host.loader->pin_root() + "; ";
        }
        if (::access(("/run/netns/" + switch_ns_).c_str(), F_OK) == 0) left += "netns " + switch_ns_ + "; ";
        if (::access(dir_.c_str(), F_OK) == 0) left += "directory " + dir_ + "; ";
        return left;
    }

private:
    // A certificate for `cn` with `san`, signed by `ca` (a name under certs()).
    bool certificate(const std::string& ca, const std::string& file, const std::string& cn, const std::string& san) {
        const std::string d = certs(), base = d + "/" + file;
        std::ofstream(base + ".ext") << "subjectAltName=" << san << "\nextendedKeyUsage=serverAuth,clientAuth\n";
        return quiet("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + cn + " -keyout " +
                     base + ".key -out " + base + ".csr") == 0 &&
               quiet("openssl x509 -req -days 1 -in " + base + ".csr -CA " + d + "/" + ca + ".pem -CAkey " + d + "/" + ca +
                     ".key -CAcreateserial -extfile " + base + ".ext -out " + base + ".pem") == 0;
    }

    ::testing::AssertionResult make_certificates() {
        const std::string d = certs();
        if (quiet("mkdir -m 700 " + d) != 0) return ::testing::AssertionFailure() << "mkdir " << d;
        for (const char* ca : {"ca", "etcd-ca"})
            if (quiet("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -x509 -days 1 -subj /CN=liteipc-test-" +
                      std::string(ca) + " -keyout " + d + "/" + ca + ".key -out " + d + "/" + ca + ".pem") != 0)
                return ::testing::AssertionFailure() << "openssl: " << ca << " not made";
        for (const std::string name : {"a", "b", "c", "d"}) {
            const std::string ip = "10.214.0." + std::to_string(name[0] - 'a' + 1);
            if (!certificate("ca", name, name, "DNS:" + name) ||
                !certificate("etcd-ca", "etcd-client-" + name, "bridge-" + name, "DNS:bridge-" + name) ||
                (name != "d" && !certificate("etcd-ca", "etcd-" + name, "etcd-" + name, "DNS:etcd,IP:" + ip)))
                return ::testing::AssertionFailure() << "openssl: certificates of " << name << " not made";
        }
        if (!certificate("etcd-ca", "etcd-client-root", "root", "DNS:root"))
            return ::testing::AssertionFailure() << "openssl: etcd's root certificate not made";
        return ::testing::AssertionSuccess();
    }

    std::string tag_, dir_, switch_ns_;
    bool switch_made_ = false;
    std::map<std::string, ClusterHost> hosts_;
};

}  // namespace liteipc::testing
