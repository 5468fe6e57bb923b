// Bridged round trip against a plain gRPC unary call between the same two network namespaces,
// in one run (make bench). Both use the bridge's TLS setup (mutual TLS, same CA and keys) and the
// same message type; each sender writes every payload byte and each receiver reads every byte.
//
//   bridge_bench [--cluster] [--rounds N]
//                                (root) sets up two hosts as the bridge tests do; one client in
//                                host a's namespace makes plain and bridged calls by turns, N
//                                rounds (20) of a few hundred calls each, so that a noisy moment
//                                on this shared machine falls on both kinds alike; prints medians,
//                                the CPU time the host took from this VM meanwhile, and the
//                                context switches and CPU time per call of the processes that
//                                serve each kind. --cluster: three hosts and a three-member etcd
//                                cluster, as the cluster tests make them; the import is found
//                                through the store
// Its other modes are the processes it starts:
//   bridge_bench service --socket S --pin-root P the liteipc service on host b (bench.echo)
//   bridge_bench local-client --socket S --pin-root P  a client of bench.echo on host b
//   bridge_bench grpc-server CONFIG ADDRESS      the plain gRPC server, in host b's namespace
//   bridge_bench client CONFIG ADDRESS ROUNDS SIZE --socket S --pin-root P
//                                                the client of one payload size, in host a's namespace
#include <signal.h>
#include <unistd.h>

#include <dirent.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <vector>

#include "plain_echo.grpc.pb.h"
#include "liteipc/ipc.h"
#include "tls.h"
#include "cluster_hosts.h"
#include "two_hosts.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kEchoBuffer = 3;
constexpr std::array<size_t, 2> kSizes{64, 64 * 1024};
constexpr double kTarget = 1.3;
constexpr double kMaxStolenPercent = 5.0;
constexpr const char* kImportName = "remote.b.bench.echo";  // bench.echo of host b, on host a

constexpr int kDefaultRounds = 20;
// Calls per round and kind: a round of both kinds takes well under a second.
int calls_per_round(size_t size) { return size <= 4096 ? 250 : 50; }

void fill(std::span<std::byte> out, size_t round) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::byte>(i + round);
}
uint64_t sum(std::span<const std::byte> bytes) {
    uint64_t total = 0;
    for (std::byte b : bytes) total += static_cast<uint8_t>(b);
    return total;
}
std::span<const std::byte> bytes_of(const std::string& s) { return {reinterpret_cast<const std::byte*>(s.data()), s.size()}; }

double median_us(std::vector<double>& samples) {
    std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
    return samples[samples.size() / 2];
}

// Runs `round_trip` (false on failure) `count` times, adding each call's time to `samples`.
template <typename RoundTrip>
bool measure(size_t size, int count, RoundTrip round_trip, std::vector<double>& samples) {
    for (int i = 0; i < count; ++i) {
        const auto start = Clock::now();
        if (!round_trip(size, i)) return false;
        samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    return true;
}

void wait_for_sigterm() {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    int signal_number = 0;
    sigwait(&stop, &signal_number);
}

int run_service(const char* socket, const char* pin_root) {
    liteipc::ContextOptions options;
    options.socket_path = socket;
    options.pin_root = pin_root;
    auto context = liteipc::Context::open(options);
    if (!context) return 1;
    auto service = liteipc::Service::start(*context, {.name = "bench.echo", .policy = liteipc::Policy::anyone},
                                           [](liteipc::Call& call) -> int32_t {
                                               const auto bytes = call.request().read_buffer();
                                               call.reply().write_uint64(sum(bytes));
                                               call.reply().write_buffer(bytes);
                                               return call.request().ok() ? 0 : -1;
                                           });
    if (!service) return 1;
    wait_for_sigterm();
    return 0;
}

// The plain peer: the same message type, echoed with its sum.
class PlainEcho final : public liteipc::bridge::bench::PlainEcho::Service {
    grpc::Status Call(grpc::ServerContext*, const liteipc::bridge::wire::CallRequest* request,
                      liteipc::bridge::wire::CallReply* reply) override {
        const std::string& bytes = request->payload().buffers(0);
        reply->set_status(static_cast<int32_t>(sum(bytes_of(bytes)) & 0x7fffffff));
        reply->mutable_payload()->add_buffers(bytes);
        return grpc::Status::OK;
    }
};

int run_grpc_server(const char* config_path, const char* address) {
    auto config = liteipc::bridge::load_config(config_path);
    if (!config) return 1;
    auto credentials = liteipc::bridge::server_credentials(*config);
    if (!credentials) return 1;
    PlainEcho echo;
    grpc::ServerBuilder builder;
    liteipc::bridge::configure_server(builder, *config);
    builder.AddListeningPort(address, *credentials);
    builder.RegisterService(&echo);
    auto server = builder.BuildAndStart();
    if (!server) return 1;
    wait_for_sigterm();
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    return 0;
}

// A plain unary call of the same message: true when the echoed sum is right.
bool plain_call(liteipc::bridge::bench::PlainEcho::Stub& stub, std::string& payload, size_t size, int round) {
    fill({reinterpret_cast<std::byte*>(payload.data()), size}, static_cast<size_t>(round));
    liteipc::bridge::wire::CallRequest request;
    request.set_code(kEchoBuffer);
    request.mutable_payload()->add_buffers(payload.data(), size);
    liteipc::bridge::wire::CallReply reply;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!stub.Call(&context, request, &reply).ok() || reply.payload().buffers_size() != 1) return false;
    return (sum(bytes_of(reply.payload().buffers(0))) & 0x7fffffff) == static_cast<uint64_t>(reply.status());
}

}  // namespace

namespace liteipc::testing {
namespace {

int fail_with(const char* what, const Error& error) {
    std::fprintf(stderr, "bridge_bench: %s: %s\n", what, error.describe().c_str());
    return 1;
}

// Waits for a client process of this bench and reads the "rtt KIND SIZE US" lines it printed.
bool collect(Spawned& client, std::map<std::string, std::map<size_t, double>>& into) {
    const int status = client.wait();
    std::istringstream lines(client.output());
    for (std::string word; lines >> word;)
        if (word == "rtt") {
            std::string kind;
            size_t size;
            double us;
            lines >> kind >> size >> us;
            into[kind][size] = us;
        }
    if (status == 0) return true;
    std::fprintf(stderr, "bridge_bench: a client failed:\n%s", client.output().c_str());
    return false;
}

const char* label(size_t size) { return size < 1024 ? "64 B" : "64 KiB"; }

// The machine's CPU time so far (/proc/stat, all CPUs): total, and stolen by the hypervisor for
// other guests while this VM wanted to run.
struct CpuTicks {
    uint64_t total = 0, steal = 0;
    static CpuTicks now() {
        std::ifstream stat("/proc/stat");
        std::string cpu;
        stat >> cpu;
        CpuTicks ticks;
        for (int field = 0; field < 8; ++field) {
            uint64_t value = 0;
            stat >> value;
            ticks.total += value;
            if (field == 7) ticks.steal = value;
        }
        return ticks;
    }
};

// A software perf event of some processes, as the kernel counts it (one on each of their threads,
// inherited by the threads they start later, whose counts it adds up): context switches (each a
// thread put to sleep, or preempted, that had to be woken or scheduled again), or CPU time in ns.
class ProcessCounter {
public:
    explicit ProcessCounter(uint64_t event) : event_(event) {}
    ProcessCounter(const ProcessCounter&) = delete;
    ProcessCounter& operator=(const ProcessCounter&) = delete;
    ~ProcessCounter() {
        for (int fd : fds_) ::close(fd);
    }

    // Counts `pid`'s threads, and its children's when `children`.
    bool add(pid_t pid, bool children = false) {
        const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
        DIR* dir = ::opendir(tasks.c_str());
        if (!dir) return false;
        while (const dirent* entry = ::readdir(dir)) {
            const pid_t tid = static_cast<pid_t>(std::atoi(entry->d_name));
            if (tid <= 0) continue;
            perf_event_attr attr{};
            attr.size = sizeof attr;
            attr.type = PERF_TYPE_SOFTWARE;
            attr.config = event_;
            attr.inherit = 1;
            const int fd = static_cast<int>(::syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC));
            if (fd >= 0) fds_.push_back(fd);
        }
        ::closedir(dir);
        if (children)
            for (pid_t child : children_of(pid)) add(child);
        return !fds_.empty();
    }
    uint64_t total() const {
        uint64_t sum = 0;
        for (int fd : fds_) {
            uint64_t value = 0;
            if (::read(fd, &value, sizeof value) == sizeof value) sum += value;
        }
        return sum;
    }

private:
    static std::vector<pid_t> children_of(pid_t parent) {
        std::vector<pid_t> found;
        DIR* dir = ::opendir("/proc");
        if (!dir) return found;
        while (const dirent* entry = ::readdir(dir)) {
            if (std::atoi(entry->d_name) <= 0) continue;
            std::ifstream stat("/proc/" + std::string(entry->d_name) + "/stat");
            std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
            const size_t after_comm = text.rfind(')');
            if (after_comm == std::string::npos) continue;
            std::istringstream fields(text.substr(after_comm + 2));
            char state;
            pid_t ppid = 0;
            fields >> state >> ppid;
            if (ppid == parent) found.push_back(static_cast<pid_t>(std::atoi(entry->d_name)));
        }
        ::closedir(dir);
        return found;
    }
    uint64_t event_;
    std::vector<int> fds_;
};

// A round trip through `echo`: the bridged import, or the service itself on its own host.
bool echo_call(Connection& echo, size_t size, int round) {
    Request request(echo);
    fill(request.writer().reserve_buffer(size), static_cast<size_t>(round));
    auto reply = echo.call(kEchoBuffer, request);
    if (!reply || reply->status() != 0) return false;
    Reader reader = reply->reader();
    const uint64_t expected = reader.read_uint64();
    return sum(reader.read_buffer()) == expected && reader.ok();
}

Result<Context> open_context(const char* socket, const char* pin_root) {
    ContextOptions options;
    options.socket_path = socket;
    options.pin_root = pin_root;
    return Context::open(options);
}

// One local round trip on host b, the cost each host's bridge adds a call of (in b's run of it).
int run_local_client(const char* socket, const char* pin_root) {
    auto context = open_context(socket, pin_root);
    if (!context) return fail_with("host b's loader", context.error());
    auto echo = Connection::open(*context, "bench.echo");
    if (!echo) return fail_with("bench.echo on host b", echo.error());
    for (size_t size : kSizes) {
        std::vector<double> samples;
        auto call = [&](size_t n, int round) { return echo_call(*echo, n, round); };
        if (!measure(size, 100, call, samples)) return 1;  // warm-up
        samples.clear();
        if (!measure(size, 10 * calls_per_round(size), call, samples)) return 1;
        std::printf("rtt local %zu %.3f\n", size, median_us(samples));
    }
    return 0;
}

// In host a's namespace: plain gRPC calls to host b and bridged calls through host a's loader,
// by turns, round after round; prints the median of each kind and size over all its rounds.
int run_client(const char* config_path, const char* address, int rounds, size_t size, const char* socket,
               const char* pin_root) {
    auto config = bridge::load_config(config_path);
    if (!config || config->peers.empty()) return 1;
    bridge::Peer peer = config->peers.front();
    peer.address = address;
    auto channel = bridge::channel_to(*config, peer);
    if (!channel) return 1;
    auto stub = bridge::bench::PlainEcho::NewStub(*channel);
    auto context = open_context(socket, pin_root);
    if (!context) return fail_with("host a's loader", context.error());
    auto echo = Connection::open(*context, kImportName);
    if (!echo) return fail_with("the import on host a", echo.error());

    std::string payload(size, '\0');
    auto plain = [&](size_t n, int round) { return plain_call(*stub, payload, n, round); };
    auto bridged = [&](size_t n, int round) { return echo_call(*echo, n, round); };
    {
        std::map<std::string, std::vector<double>> samples;
        if (!measure(size, 100, plain, samples["plain"]) || !measure(size, 100, bridged, samples["bridged"])) {
            std::fprintf(stderr, "bridge_bench: a warm-up call of %zu bytes failed\n", size);
            return 1;
        }
        samples.clear();
        for (int round = 0; round < rounds; ++round) {
            // Which kind goes first alternates, so that neither always follows the other.
            const bool plain_first = round % 2 == 0;
            for (int turn = 0; turn < 2; ++turn) {
                const bool is_plain = (turn == 0) == plain_first;
                const bool ok = is_plain ? measure(size, calls_per_round(size), plain, samples["plain"])
                                         : measure(size, calls_per_round(size), bridged, samples["bridged"]);
                if (!ok) {
                    std::fprintf(stderr, "bridge_bench: a %s call of %zu bytes failed\n", is_plain ? "plain" : "bridged", size);
                    return 1;
                }
            }
        }
        for (auto& [kind, kind_samples] : samples) std::printf("rtt %s %zu %.3f\n", kind.c_str(), size, median_us(kind_samples));
    }
    return 0;
}

// Where the calls go: the importing host (the client's namespace and loader, its bridge) and the
// serving host (the service, its bridge, the plain gRPC server's namespace).
struct Hosts {
    std::string dir;  // the harness's temporary directory, for logs
    std::string import_netns, serve_netns, serve_address;
    std::vector<std::string> import_loader, serve_loader;  // --socket S --pin-root P
    std::string client_config;  // the importing host's TLS files, the serving host its first peer
    std::string server_config;  // the serving host's TLS files, for the plain gRPC server
    pid_t import_bridge = 0, serve_bridge = 0, service = 0;
};

const std::string kLimits = R"("max_message_bytes":1048576,"keepalive_ms":1000,)";

// Two hosts joined by a veth pair, the import configured by hand (peers in both configs).
bool two_hosts(TwoHosts& hosts, const char* self, Hosts& out) {
    if (auto started = hosts.start(); !started) {
        std::fprintf(stderr, "bridge_bench: %s\n", started.message());
        return false;
    }
    Host& a = hosts.a();
    Host& b = hosts.b();
    const Spawned& service = hosts.run_on(b, {self, "service"}, "service");  // run_on adds --socket and --pin-root
    hosts.write_config(a, kLimits + R"("peers":[{"name":"b","identity":"host-b","address":")" + b.address +
                              R"(:7443"}],"imports":[{"peer":"b","service":"bench.echo","policy":"anyone"}])");
    hosts.write_config(b, kLimits + R"("peers":[{"name":"a","identity":"host-a","address":")" + a.address +
                              R"(:7443"}],"exports":[{"service":"bench.echo","allow":["a"]}])");
    if (!hosts.wait_for_service(b, "bench.echo", std::chrono::seconds(10))) return false;
    hosts.start_bridge(a);
    hosts.start_bridge(b);
    if (!hosts.wait_for_service(a, kImportName, std::chrono::seconds(20))) {
        std::fprintf(stderr, "bridge_bench: import not there:\n%s", a.bridge->output().c_str());
        return false;
    }
    out = {hosts.dir(), a.netns, b.netns, b.address, a.loader_args(), b.loader_args(), a.config_path, b.config_path,
           a.bridge->pid(), b.bridge->pid(), service.pid()};
    return true;
}

// Three hosts with a three-member etcd cluster, as the cluster tests make them: host a finds
// bench.echo on host b through the store, no config names b; every bridge announces itself and
// watches the store (b imports a service nobody offers), as on a cluster's hosts.
bool cluster_hosts(Cluster& cluster, const char* self, Hosts& out) {
    if (::access("/usr/bin/etcd", X_OK) != 0) {
        std::fprintf(stderr, "bridge_bench: --cluster needs /usr/bin/etcd (Debian: etcd-server, etcd-client)\n");
        return false;
    }
    cluster.keepalive_ms = 1000;
    if (auto started = cluster.start(); !started) {
        std::fprintf(stderr, "bridge_bench: %s\n", started.message());
        return false;
    }
    for (const char* name : {"a", "b", "c"}) cluster.start_etcd(cluster.host(name));
    if (auto restricted = cluster.restrict_store(); !restricted) {
        std::fprintf(stderr, "bridge_bench: %s\n", restricted.message());
        return false;
    }
    ClusterHost& a = cluster.host("a");
    ClusterHost& b = cluster.host("b");
    const Spawned& service = cluster.run_on(b, {self, "service"}, "service");
    cluster.write_config(a, kLimits + R"("imports":[{"service":"bench.echo","policy":"anyone"}])");
    cluster.write_config(b, kLimits + R"("peers":[{"name":"a","identity":"a"}],)"
                                      R"("exports":[{"service":"bench.echo","allow":["a"]}],)"
                                      R"("imports":[{"service":"bench.elsewhere","policy":"anyone"}])");
    for (const char* name : {"a", "b"}) cluster.start_bridge(cluster.host(name));
    if (!eventually([&] { return cluster.has_service(a, kImportName); }, std::chrono::seconds(40))) {
        std::fprintf(stderr, "bridge_bench: import not found through the store:\n%s", a.bridge->output().c_str());
        return false;
    }
    // The bench's client: host a's TLS files, and b as the peer (the plain calls' server).
    const std::string client_config = cluster.dir() + "/bench-client.json";
    std::ofstream(client_config) << R"({"tls":{"ca":")" << cluster.certs() << R"(/ca.pem","cert":")" << cluster.certs()
                                 << R"(/a.pem","key":")" << cluster.certs() << R"(/a.key"},)"
                                 << R"("peers":[{"name":"b","identity":"b","address":")" << b.address << R"(:7443"}]})";
    out = {cluster.dir(), a.netns, b.netns, b.address, a.loader_args(), b.loader_args(), client_config, b.config_path,
           a.bridge->pid(), b.bridge->pid(), service.pid()};
    return true;
}

int measure_and_report(const char* self, int rounds, const Hosts& hosts, const char* setup) {
    // The plain gRPC server in the serving host's namespace; the client in the importing host's,
    // the same keys.
    const std::string plain_address = hosts.serve_address + ":7444";
    Spawned server({"/usr/bin/nsenter", "--net=/run/netns/" + hosts.serve_netns, self, "grpc-server",
                    hosts.server_config, plain_address},
                   hosts.dir + "/grpc-server.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::map<std::string, std::map<size_t, double>> rtt;
    // Context switches per call of the processes serving each kind: plain gRPC's server; the
    // bridged call's importing bridge (its import child), serving bridge and service.
    // Processes: plain gRPC's server; host a's bridge with its import child, host b's bridge, the service.
    constexpr int kSides = 4;
    const char* const side_names[kSides] = {"plain gRPC's server", "importing bridge", "serving bridge", "service"};
    // What each side costs: its sleeps and preemptions, and its CPU time (the bridges poll where a
    // wake-up would cost more than the wait: that is paid in CPU time).
    constexpr int kCounts = 2;
    const char* const count_names[kCounts] = {"context switches per call (each a thread put to sleep or preempted)",
                                              "CPU time per call, us"};
    const uint64_t events[kCounts] = {PERF_COUNT_SW_CONTEXT_SWITCHES, PERF_COUNT_SW_TASK_CLOCK};
    const double units[kCounts] = {1.0, 1000.0};
    std::vector<std::vector<std::unique_ptr<ProcessCounter>>> sides(kCounts);
    for (int count = 0; count < kCounts; ++count) {
        for (int side = 0; side < kSides; ++side) sides[count].push_back(std::make_unique<ProcessCounter>(events[count]));
        if (!sides[count][0]->add(server.pid()) || !sides[count][1]->add(hosts.import_bridge, true) ||
            !sides[count][2]->add(hosts.serve_bridge) || !sides[count][3]->add(hosts.service)) {
            std::fprintf(stderr, "bridge_bench: perf_event_open: %s\n", std::strerror(errno));
            return 1;
        }
    }
    std::map<size_t, std::array<std::array<double, kSides>, kCounts>> per_call;
    const CpuTicks before = CpuTicks::now();
    for (size_t size : kSizes) {
        std::vector<std::string> client_argv{"/usr/bin/nsenter", "--net=/run/netns/" + hosts.import_netns, self, "client",
                                             hosts.client_config, plain_address, std::to_string(rounds), std::to_string(size)};
        for (auto& arg : hosts.import_loader) client_argv.push_back(arg);
        uint64_t start[kCounts][kSides];
        for (int count = 0; count < kCounts; ++count)
            for (int side = 0; side < kSides; ++side) start[count][side] = sides[count][side]->total();
        Spawned client(std::move(client_argv), hosts.dir + "/client-" + std::to_string(size) + ".log");
        if (!collect(client, rtt)) return 1;
        const double calls = 100 + rounds * calls_per_round(size);  // warm-up and rounds, of each kind
        for (int count = 0; count < kCounts; ++count)
            for (int side = 0; side < kSides; ++side)
                per_call[size][count][side] =
                    static_cast<double>(sides[count][side]->total() - start[count][side]) / units[count] / calls;
    }
    const CpuTicks after = CpuTicks::now();
    server.kill(SIGTERM);
    std::vector<std::string> local_argv{self, "local-client"};
    for (auto& arg : hosts.serve_loader) local_argv.push_back(arg);
    Spawned local_client(std::move(local_argv), hosts.dir + "/local-client.log");
    if (!collect(local_client, rtt)) return 1;

    for (const char* kind : {"plain", "bridged", "local"})
        for (size_t size : kSizes)
            if (!rtt[kind].contains(size)) {
                std::fprintf(stderr, "bridge_bench: no %s figure for %zu bytes\n", kind, size);
                return 1;
            }
    std::printf("bridge    payload   bridged RTT   plain gRPC RTT   bridged/plain   one local call"
                "   (median us; %d rounds by turns; same namespaces, mTLS; %s)\n", rounds, setup);
    std::map<size_t, double> ratio;
    for (size_t size : kSizes) {
        ratio[size] = rtt["bridged"][size] / rtt["plain"][size];
        std::printf("          %-8s  %9.1f     %9.1f        %5.2fx      %9.1f\n", label(size), rtt["bridged"][size],
                    rtt["plain"][size], ratio[size], rtt["local"][size]);
    }
    // The bridged call has four processes taking turns on the CPUs where plain gRPC has two: time
    // the host gives to other guests lands harder on it. Say how much there was.
    const double stolen = 100.0 * static_cast<double>(after.steal - before.steal) /
                          static_cast<double>(std::max<uint64_t>(after.total - before.total, 1));
    for (int count = 0; count < kCounts; ++count) {
        std::printf("%s, plain | bridged:\n", count_names[count]);
        for (size_t size : kSizes) {
            const auto& per = per_call[size][count];
            std::printf("  %-6s  %s %.1f | %s %.1f + %s %.1f + %s %.1f = %.1f\n", label(size), side_names[0], per[0],
                        side_names[1], per[1], side_names[2], per[2], side_names[3], per[3], per[1] + per[2] + per[3]);
        }
    }
    std::printf("CPU time taken by the hypervisor for other guests during the calls: %.1f%%%s\n", stolen,
                stolen > kMaxStolenPercent ? " (the bridged call, with more processes to run, suffers more from it)" : "");
    std::printf("targets:\n");
    for (size_t size : kSizes)
        std::printf("  bridged %-6s RTT  <= %.1fx plain gRPC       %5.2fx  %s\n", label(size), kTarget, ratio[size],
                    ratio[size] <= kTarget ? "met" : "NOT met");
    return 0;
}

int run_driver(const char* self, int rounds, bool cluster) {
    if (!why_no_bpf().empty()) {
        std::fprintf(stderr, "bridge_bench: %s\n", why_no_bpf().c_str());
        return 1;
    }
    Hosts hosts;
    if (cluster) {
        Cluster three;
        if (!cluster_hosts(three, self, hosts)) return 1;
        return measure_and_report(self, rounds, hosts, "found through etcd");
    }
    TwoHosts two;
    if (!two_hosts(two, self, hosts)) return 1;
    return measure_and_report(self, rounds, hosts, "peers configured");
}

}  // namespace
}  // namespace liteipc::testing

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "service" && argc == 6) return run_service(argv[3], argv[5]);
    if (mode == "local-client" && argc == 6) return liteipc::testing::run_local_client(argv[3], argv[5]);
    if (mode == "client" && argc == 10 && std::atoi(argv[4]) > 0 && std::atoi(argv[5]) > 0)
        return liteipc::testing::run_client(argv[2], argv[3], std::atoi(argv[4]), std::atoi(argv[5]), argv[7], argv[9]);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
    if (mode == "grpc-server" && argc == 4) return run_grpc_server(argv[2], argv[3]);
    // [--cluster] [--rounds N]
    bool cluster = false;
    int rounds = kDefaultRounds;
    bool usage = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--cluster") == 0) cluster = true;
        else if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc && std::atoi(argv[i + 1]) > 0) rounds = std::atoi(argv[++i]);
        else usage = true;
    }
    if (!usage) {
        pthread_sigmask(SIG_UNBLOCK, &stop, nullptr);
        char self[4096];
        const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
        if (length <= 0) return 1;
        self[length] = '\0';
        return liteipc::testing::run_driver(self, rounds, cluster);
    }
    std::fprintf(stderr, "usage: %s [--cluster] [--rounds N]   (as root; the other modes are its own processes)\n", argv[0]);
    return 2;
}
