// Two "hosts" on this machine for the bridge tests: two network namespaces joined by a veth
// pair, each with its own liteipc-loader (private pin root and socket) and its own
// liteipc-bridge running inside its namespace, with certificates made by the openssl CLI in a
// private temporary directory. Everything is created here and removed in the destructor.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "loader_fixture.h"
#include "spawned.h"

namespace liteipc::testing {

// One host: a namespace, a loader, a certificate identity, a bridge config and its bridge.
struct Host {
    std::string name;      // "a" or "b": the peer name the other host uses
    std::string netns;     // the network namespace
    std::string veth;      // its end of the link
    std::string address;   // its address on the link
    std::string identity;  // its certificate's CN
    std::unique_ptr<Loader> loader;
    std::unique_ptr<Spawned> bridge;
    std::string config_path;
    std::vector<std::unique_ptr<Spawned>> processes;  // services and clients started on it

    std::vector<std::string> loader_args() const {
        return {"--socket", loader->socket(), "--pin-root", loader->pin_root()};
    }
};

// The loaders' name policy unless a test gives another: remote.* reserved for the bridges,
// which run as root here (docs/BRIDGE.md: a bridge refuses to import without it).
inline constexpr const char* kBridgeReservation = "own remote.* by uid:0\nunlisted_names = anyone\n";

class TwoHosts {
public:
    static constexpr uint16_t kPort = 7443;

    explicit TwoHosts(const std::string& loader_policy = kBridgeReservation) : tag_(std::to_string(::getpid())) {
        char pattern[] = "/tmp/liteipc-bridge-test-XXXXXX";
        dir_ = ::mkdtemp(pattern) ? pattern : "";
        std::ofstream(dir_ + "/loader.conf") << loader_policy;
        a_ = make_host("a", "10.213.0.1");
        b_ = make_host("b", "10.213.0.2");
    }
    ~TwoHosts() { tear_down(); }

    // Namespaces, link, certificates (a CA, host-a, host-b and host-c), loaders.
    ::testing::AssertionResult start() {
        if (dir_.empty()) return ::testing::AssertionFailure() << "mkdtemp failed";
        for (Host* host : {&a_, &b_})
            if (quiet("ip netns add " + host->netns) != 0)
                return ::testing::AssertionFailure() << "ip netns add " << host->netns << " failed";
        namespaces_made_ = true;
        if (quiet("ip link add " + a_.veth + " netns " + a_.netns + " type veth peer name " + b_.veth + " netns " +
                  b_.netns) != 0)
            return ::testing::AssertionFailure() << "ip link add (veth) failed";
        for (Host* host : {&a_, &b_}) {
            const std::string in = "ip -n " + host->netns + " ";
            if (quiet(in + "addr add " + host->address + "/24 dev " + host->veth) != 0 ||
                quiet(in + "link set " + host->veth + " up") != 0 || quiet(in + "link set lo up") != 0)
                return ::testing::AssertionFailure() << "addressing " << host->netns << " failed";
        }
        if (auto made = make_certificates(); !made) return made;
        for (Host* host : {&a_, &b_})
            if (auto started = host->loader->start(); !started) return started;
        return ::testing::AssertionSuccess();
    }

    Host& a() { return a_; }
    Host& b() { return b_; }
    const std::string& dir() const { return dir_; }
    std::string cert_dir() const { return dir_ + "/certs"; }

    // Writes `host`'s config: its TLS files, its loader, `body` (peers, exports, imports, limits).
    void write_config(Host& host, const std::string& body) {
        host.config_path = dir_ + "/" + host.name + ".json";
        std::ofstream out(host.config_path);
        out << "{\"listen\":\"" << host.address << ":" << kPort << "\",\"socket\":\"" << host.loader->socket()
            << "\",\"pin_root\":\"" << host.loader->pin_root() << "\",\"status_service\":\"liteipc.bridge\","
            << "\"tls\":{\"ca\":\"" << cert_dir() << "/ca.pem\",\"cert\":\"" << cert_dir() << "/" << host.identity
            << ".pem\",\"key\":\"" << cert_dir() << "/" << host.identity << ".key\"}," << body << "}";
    }

    // Starts `host`'s bridge inside its namespace (nsenter execs it: the pid is the bridge's).
    void start_bridge(Host& host) {
        host.bridge = std::make_unique<Spawned>(
            std::vector<std::string>{"/usr/bin/nsenter", "--net=/run/netns/" + host.netns, LITEIPC_BRIDGE_PATH,
                                     "--config", host.config_path},
            dir_ + "/bridge-" + host.name + ".log");
    }

    // Starts a program on `host` (its loader's socket and pin root follow `argv`).
    Spawned& run_on(Host& host, std::vector<std::string> argv, const std::string& log_name) {
        for (auto& arg : host.loader_args()) argv.push_back(arg);
        host.processes.push_back(std::make_unique<Spawned>(std::move(argv), dir_ + "/" + log_name + ".log"));
        return *host.processes.back();
    }

    // Cuts the link: the veth pair is deleted, so no packet and no reset reaches either side.
    bool cut_link() { return quiet("ip -n " + a_.netns + " link del " + a_.veth) == 0; }

    // Names on a host's loader, as `liteipc list` prints them.
    std::string services_on(Host& host) {
        const std::string out = dir_ + "/list.txt";
        shell(std::string(LITEIPC_CLI_PATH) + " list --socket " + host.loader->socket() + " --pin-root " +
              host.loader->pin_root() + " > " + out + " 2>/dev/null");
        return read_text(out);
    }
    bool wait_for_service(Host& host, const std::string& name, std::chrono::milliseconds timeout) {
        return eventually([&] { return services_on(host).find(name) != std::string::npos; }, timeout);
    }

    // Everything this object made, gone: processes reaped, loaders stopped and unloaded,
    // namespaces deleted (with the link), the temporary directory removed.
    void tear_down() {
        for (Host* host : {&a_, &b_}) host->processes.clear();
        for (Host* host : {&a_, &b_}) {
            if (host->bridge) {
                const int status = host->bridge->kill(SIGTERM);
                if (status != -1) bridge_exits_.push_back(status);
            }
            if (host->loader) {
                host->loader->stop();
                host->loader->unload();
            }
        }
        if (namespaces_made_)
            for (Host* host : {&a_, &b_}) quiet("ip netns del " + host->netns);
        namespaces_made_ = false;
        // LITEIPC_BRIDGE_TEST_KEEP=1 keeps the logs and configs for a look after a failure.
        if (!dir_.empty() && !std::getenv("LITEIPC_BRIDGE_TEST_KEEP")) quiet("rm -rf " + dir_);
    }

    // How the bridges ended when tear_down stopped them (wait statuses).
    const std::vector<int>& bridge_exits() const { return bridge_exits_; }

    // What is left of this object's host state, described; empty when nothing is.
    std::string leftovers() const {
        std::string left;
        for (const Host* host : {&a_, &b_}) {
            if (::access(("/run/netns/" + host->netns).c_str(), F_OK) == 0) left += "netns " + host->netns + "; ";
            if (::access(host->loader->pin_root().c_str(), F_OK) == 0) left += "pin root " + host->loader->pin_root() + "; ";
        }
        if (::access(dir_.c_str(), F_OK) == 0) left += "directory " + dir_ + "; ";
        return left;
    }

private:
    Host make_host(const std::string& name, const std::string& address) {
        Host host;
        host.name = name;
        host.netns = "liteipc-br" + tag_ + name;
        host.veth = "lbr" + tag_ + name;
        host.address = address;
        host.identity = "host-" + name;
        host.loader = std::make_unique<Loader>("bridge-" + name, std::vector<std::string>{"--config", dir_ + "/loader.conf"});
        return host;
    }

    ::testing::AssertionResult make_certificates() {
        const std::string d = cert_dir();
        const std::string key = "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
        if (quiet("mkdir -m 700 " + d) != 0 ||
            quiet(key + "-x509 -days 1 -subj /CN=liteipc-test-ca -keyout " + d + "/ca.key -out " + d + "/ca.pem") != 0)
            return ::testing::AssertionFailure() << "openssl: CA not made";
        for (const char* id : {"host-a", "host-b", "host-c"}) {
            const std::string base = d + "/" + id;
            std::ofstream(base + ".ext") << "subjectAltName=DNS:" << id << "\n";
            if (quiet(key + "-subj /CN=" + id + " -keyout " + base + ".key -out " + base + ".csr") != 0 ||
                quiet("openssl x509 -req -days 1 -in " + base + ".csr -CA " + d + "/ca.pem -CAkey " + d +
                      "/ca.key -CAcreateserial -extfile " + base + ".ext -out " + base + ".pem") != 0)
                return ::testing::AssertionFailure() << "openssl: certificate " << id << " not made";
        }
        return ::testing::AssertionSuccess();
    }

    std::string tag_;
    std::string dir_;
    Host a_, b_;
    bool namespaces_made_ = false;
    std::vector<int> bridge_exits_;
};

}  // namespace liteipc::testing
