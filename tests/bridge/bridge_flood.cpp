// A stranger and a greedy peer against a bridge's gRPC server, for the limits test. Bounded in
// count and time, it stops by itself:
//   bridge_flood idle --to HOST:PORT --connections N --hold-ms T
//     opens N TCP connections that never send a byte, holds them T ms, then prints how many
//     were open at the end ("open K of N") and exits.
//   bridge_flood streams --to HOST:PORT --identity CN --ca PEM --cert PEM --key PEM
//                        --service NAME --connections C --streams N --hold-ms T
//     opens N Watch streams on each of C connections, holds them T ms, prints "ready R ended E
//     waiting W" (ended: by the server, e.g. RESOURCE_EXHAUSTED; waiting: for a stream of the
//     connection, HTTP/2's limit), then cancels them and exits.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "bridge.grpc.pb.h"

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// TCP connections that stay silent; the ones the server closed are counted at the end.
int idle(const std::string& to, int connections, std::chrono::milliseconds hold) {
    // Room for every connection: the soft fd limit raised to the hard one.
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
    const auto colon = to.rfind(':');
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(std::stoi(to.substr(colon + 1))));
    if (::inet_pton(AF_INET, to.substr(0, colon).c_str(), &address.sin_addr) != 1) return 2;
    std::vector<int> fds;
    for (int i = 0; i < connections; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) break;
        if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            ::close(fd);
            continue;
        }
        fds.push_back(fd);
    }
    std::printf("connected %zu of %d\n", fds.size(), connections);
    std::fflush(stdout);
    std::this_thread::sleep_for(hold);
    size_t open = 0;
    for (int fd : fds) {
        pollfd p{fd, POLLIN | POLLRDHUP, 0};
        char byte;
        // Still open: nothing to read (the server sent nothing and did not close).
        if (::poll(&p, 1, 0) == 0 || (::recv(fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK) < 0 && errno == EAGAIN)) ++open;
        ::close(fd);
    }
    std::printf("open %zu of %d\n", open, connections);
    return 0;
}

// Watch streams that the server keeps (or refuses), all on one connection.
class Watch final : public grpc::ClientReadReactor<liteipc::bridge::wire::ServiceReady> {
public:
    Watch(liteipc::bridge::wire::Bridge::Stub& stub, const std::string& service, std::atomic<int>& ready, std::atomic<int>& refused)
        : ready_(ready), refused_(refused) {
        request_.set_service(service);
        stub.async()->Watch(&context_, &request_, this);
        StartRead(&message_);
        StartCall();
    }
    void OnReadDone(bool ok) override {
        if (ok) ++ready_;
    }
    void OnDone(const grpc::Status&) override {
        ++refused_;
        done_ = true;
    }
    void cancel() { context_.TryCancel(); }
    bool done() const { return done_; }

private:
    grpc::ClientContext context_;
    liteipc::bridge::wire::WatchRequest request_;
    liteipc::bridge::wire::ServiceReady message_;
    std::atomic<int>& ready_;
    std::atomic<int>& refused_;
    std::atomic<bool> done_{false};
};

int streams(std::map<std::string, std::string>& options, int connections, int count, std::chrono::milliseconds hold) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = read_file(options["--ca"]);
    tls.pem_cert_chain = read_file(options["--cert"]);
    tls.pem_private_key = read_file(options["--key"]);
    std::vector<std::unique_ptr<liteipc::bridge::wire::Bridge::Stub>> stubs;
    for (int i = 0; i < connections; ++i) {
        grpc::ChannelArguments args;
        args.SetSslTargetNameOverride(options["--identity"]);
        args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
        stubs.push_back(liteipc::bridge::wire::Bridge::NewStub(grpc::CreateCustomChannel(options["--to"], grpc::SslCredentials(tls), args)));
    }
    std::atomic<int> ready{0}, refused{0};
    std::vector<std::unique_ptr<Watch>> watches;
    for (auto& stub : stubs)
        for (int i = 0; i < count; ++i) watches.push_back(std::make_unique<Watch>(*stub, options["--service"], ready, refused));
    std::this_thread::sleep_for(hold);
    const int total = connections * count;
    std::printf("ready %d ended %d waiting %d\n", ready.load(), refused.load(), total - ready.load() - refused.load());
    std::fflush(stdout);
    for (auto& watch : watches) watch->cancel();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (auto& watch : watches)
        while (!watch->done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::fflush(stdout);
    ::_exit(0);  // gRPC's threads are not torn down one by one
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    const std::string mode = argv[1];
    std::map<std::string, std::string> options;
    for (int i = 2; i + 1 < argc; i += 2) options[argv[i]] = argv[i + 1];
    const auto hold = std::chrono::milliseconds(std::stoi(options.count("--hold-ms") ? options["--hold-ms"] : "1000"));
    if (mode == "idle") return idle(options["--to"], std::stoi(options["--connections"]), hold);
    if (mode == "streams") return streams(options, std::stoi(options["--connections"]), std::stoi(options["--streams"]), hold);
    return 2;
}
