// Peer: iceoryx 2.0 request/response (iox::popo::UntypedClient / UntypedServer), zero copy.
//
// The client loans a request chunk and fills it in place; the server checks it in place,
// loans a response chunk for it and fills that in place; the client checks the response in
// place. Busy receivers spin on take(); blocking receivers sleep in a WaitSet attached to
// HAS_REQUEST / HAS_RESPONSE.
//
// The run starts its own RouDi (iox-roudi) with a mempool configuration that fits every payload
// up to 16 MiB, waits until it reports ready, and stops it by pid at the end. Each job's two
// processes register with their own runtime names and a service named after the job.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "iceoryx_hoofs/log/logmanager.hpp"
#include "iceoryx_posh/popo/untyped_client.hpp"
#include "iceoryx_posh/popo/untyped_server.hpp"
#include "iceoryx_posh/popo/wait_set.hpp"
#include "iceoryx_posh/runtime/posh_runtime.hpp"
#include "payload.h"
#include "sys.h"
#include "transport.h"

#ifndef LIPC_BENCH_IOX_ROUDI
#define LIPC_BENCH_IOX_ROUDI "/usr/bin/iox-roudi"
#endif

namespace liteipc::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Mempools of the RouDi this run starts: chunk payload sizes with room for the request/response
// header and alignment. Counts bound the chunks a stream keeps in flight (see queue_capacity).
struct Pool {
    std::size_t payload;
    std::size_t count;
};
constexpr std::size_t kHeaderRoom = 4096;
constexpr Pool kPools[] = {
    {1024, 4096},
    {8192 + kHeaderRoom, 2048},
    {(64u << 10) + kHeaderRoom, 1200},
    {(1u << 20) + kHeaderRoom, 64},
    {(16u << 20) + kHeaderRoom, 12},
};
constexpr std::size_t kLargestPayload = (16u << 20);

const Pool* pool_for(std::size_t payload) {
    for (const auto& p : kPools)
        if (payload + kHeaderRoom <= p.payload || (p.payload == 1024 && payload <= 512)) return &p;
    return nullptr;
}

// Requests a stream may queue at the server: a quarter of the pool, at most iceoryx's maximum.
std::uint64_t queue_capacity(std::size_t payload) {
    const Pool* p = pool_for(payload);
    const std::uint64_t cap = p ? p->count / 4 : 1;
    return std::clamp<std::uint64_t>(cap, 1, iox::MAX_REQUEST_QUEUE_CAPACITY);
}

iox::capro::IdString_t id_string(const std::string& s) {
    return iox::capro::IdString_t(iox::cxx::TruncateToCapacity, s.c_str());
}

// The one iceoryx runtime of this process, named for the job and the side.
void init_runtime(const char* side, std::uint64_t job_id) {
    iox::log::LogManager::GetLogManager().SetDefaultLogLevel(iox::log::LogLevel::kWarn, iox::log::LogLevelOutput::kHideLogLevel);
    const std::string name = "ipc_bench-" + std::string(side) + "-" + std::to_string(job_id) + "-" + std::to_string(getpid());
    iox::runtime::PoshRuntime::initRuntime(iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name.c_str()));
}

iox::capro::ServiceDescription service_for(std::uint64_t job_id) {
    return {id_string("ipc_bench"), id_string("rtt"), id_string("job" + std::to_string(job_id))};
}

// Another RouDi on the machine owns the shared memory we would create: don't touch it.
std::optional<pid_t> running_roudi() {
    DIR* proc = opendir("/proc");
    if (proc == nullptr) return std::nullopt;
    std::optional<pid_t> found;
    while (dirent* e = readdir(proc)) {
        char* end = nullptr;
        const long pid = std::strtol(e->d_name, &end, 10);
        if (*end != '\0' || pid <= 0) continue;
        std::ifstream comm("/proc/" + std::string(e->d_name) + "/comm");
        std::string name;
        if (std::getline(comm, name) && name == "iox-roudi") {
            found = static_cast<pid_t>(pid);
            break;
        }
    }
    closedir(proc);
    return found;
}

std::string read_file(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

class IceoryxTransport final : public Transport {
public:
    ~IceoryxTransport() override { close_run(); }

    std::string_view name() const override { return kIceoryx; }

    std::optional<std::string> unsupported(Regime, std::size_t payload) const override {
        if (payload > kLargestPayload)
            return "payload above the largest RouDi mempool this run configures (16 MiB)";
        return std::nullopt;
    }

    Result<> open_run() override {
        if (access(LIPC_BENCH_IOX_ROUDI, X_OK) != 0)
            return fail_errno(std::string("no RouDi at " LIPC_BENCH_IOX_ROUDI " (apt install iceoryx)"), Errc::not_found);
        if (auto other = running_roudi())
            return fail(Errc::already_exists, "another iox-roudi is running (pid " + std::to_string(*other) +
                                                  "); ipc_bench starts and stops its own");

        const std::string stem = "/tmp/ipc_bench-roudi-" + std::to_string(getpid());
        config_path_ = stem + ".toml";
        log_path_ = stem + ".log";
        {
            std::ofstream cfg(config_path_);
            cfg << "# written by ipc_bench: mempools for payloads up to 16 MiB\n[general]\nversion = 1\n\n[[segment]]\n";
            for (const auto& p : kPools) cfg << "\n[[segment.mempool]]\nsize = " << p.payload << "\ncount = " << p.count << "\n";
            if (!cfg) return fail(Errc::system, "cannot write " + config_path_);
        }

        roudi_ = spawn_logged(LIPC_BENCH_IOX_ROUDI, {"iox-roudi", "-c", config_path_, "-l", "info"}, log_path_,
                              LogMode::truncate, Lifetime::for_the_run);
        if (roudi_ < 0) return fail_errno("fork for iox-roudi");

        // Ready when it says so; gone or silent for 20 s is a failure, with its log.
        const auto deadline = Clock::now() + std::chrono::seconds(20);
        for (;;) {
            if (read_file(log_path_).find("RouDi is ready for clients") != std::string::npos) return {};
            int status = 0;
            if (waitpid(roudi_, &status, WNOHANG) == roudi_) {
                roudi_ = -1;
                return fail(Errc::system, "iox-roudi exited at start: " + tail_of_log());
            }
            if (Clock::now() > deadline) {
                close_run();
                return fail(Errc::timed_out, "iox-roudi not ready after 20 s: " + tail_of_log());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    void close_run() override {
        if (roudi_ > 0) {
            kill(roudi_, SIGTERM);
            const auto deadline = Clock::now() + std::chrono::seconds(10);
            int status = 0;
            while (waitpid(roudi_, &status, WNOHANG) != roudi_) {
                if (Clock::now() > deadline) {
                    kill(roudi_, SIGKILL);
                    waitpid(roudi_, &status, 0);
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            roudi_ = -1;
        }
        if (!config_path_.empty()) unlink(config_path_.c_str());
        if (!log_path_.empty()) unlink(log_path_.c_str());
        config_path_.clear();
        log_path_.clear();
    }

    Result<> setup(const JobSpec& job) override {
        job_ = job;
        return {};
    }

    Result<> serve() override {
        init_runtime("server", job_.job_id);
        iox::popo::ServerOptions options;
        options.requestQueueCapacity = queue_capacity(job_.payload);
        options.requestQueueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
        options.clientTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
        iox::popo::UntypedServer server(service_for(job_.job_id), options);
        iox::popo::WaitSet<> waitset;
        if (job_.regime == Regime::blocking &&
            waitset.attachState(server, iox::popo::ServerState::HAS_REQUEST).has_error())
            return fail(Errc::system, "iceoryx: WaitSet::attachState(HAS_REQUEST) failed");

        Spinner spinner;
        for (;;) {
            auto taken = server.take();
            if (taken.has_error()) {
                if (job_.regime == Regime::blocking) waitset.wait();
                else spinner.pause();
                continue;
            }
            const void* request = taken.value();
            const PayloadCheck msg = check_payload(request, job_.payload);
            Result<> result{};
            bool done = false;
            if (!msg.intact) {
                result = fail(Errc::malformed, "request payload checksum mismatch");
            } else if (msg.op == Op::request || msg.op == Op::flush) {
                result = respond(server, request, msg.op == Op::request ? Op::reply : Op::ack, msg.seq);
            } else if (msg.op == Op::stop) {
                done = true;
            } else if (msg.op != Op::data) {
                result = fail(Errc::malformed, "unexpected op in a request");
            }
            server.releaseRequest(request);
            if (!result) return result;
            if (done) return {};
        }
    }

    Result<> connect() override {
        init_runtime("client", job_.job_id);
        iox::popo::ClientOptions options;
        options.responseQueueCapacity = 4;
        options.serverTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
        options.responseQueueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
        client_.emplace(service_for(job_.job_id), options);
        if (job_.regime == Regime::blocking) {
            waitset_.emplace();
            if (waitset_->attachState(*client_, iox::popo::ClientState::HAS_RESPONSE).has_error())
                return fail(Errc::system, "iceoryx: WaitSet::attachState(HAS_RESPONSE) failed");
        }
        // Discovery runs in RouDi's loop: wait until the server is matched.
        const auto deadline = Clock::now() + std::chrono::seconds(20);
        while (client_->getConnectionState() != iox::ConnectionState::CONNECTED) {
            if (Clock::now() > deadline) return fail(Errc::timed_out, "iceoryx: client not connected after 20 s");
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return {};
    }

    Result<> round_trip(std::uint64_t seq) override {
        if (auto r = send(Op::request, seq); !r) return r;
        return receive(Op::reply, seq);
    }

    Result<> stream(std::uint64_t first_seq, std::uint64_t count) override {
        for (std::uint64_t i = 0; i < count; ++i)
            if (auto r = send(i + 1 == count ? Op::flush : Op::data, first_seq + i); !r) return r;
        return receive(Op::ack, first_seq + count - 1);
    }

    Result<> stop() override {
        auto r = send(Op::stop, 0);
        // Unregister ports in order before the process exits.
        waitset_.reset();
        client_.reset();
        return r;
    }

    void teardown() override {}

private:
    static constexpr std::uint32_t kAlign = 64;

    Result<> respond(iox::popo::UntypedServer& server, const void* request, Op op, std::uint64_t seq) {
        const auto* header = iox::popo::RequestHeader::fromPayload(request);
        auto loaned = server.loan(header, static_cast<std::uint32_t>(job_.payload), kAlign);
        if (loaned.has_error())
            return fail(Errc::no_memory, "iceoryx: server loan failed (error " +
                                             std::to_string(static_cast<int>(loaned.get_error())) + ")");
        fill_payload(loaned.value(), job_.payload, op, seq);
        if (server.send(loaned.value()).has_error()) return fail(Errc::system, "iceoryx: server send failed");
        return {};
    }

    Result<> send(Op op, std::uint64_t seq) {
        auto loaned = client_->loan(static_cast<std::uint32_t>(job_.payload), kAlign);
        if (loaned.has_error())
            return fail(Errc::no_memory, "iceoryx: client loan failed (error " +
                                             std::to_string(static_cast<int>(loaned.get_error())) + ")");
        fill_payload(loaned.value(), job_.payload, op, seq);
        if (client_->send(loaned.value()).has_error()) return fail(Errc::system, "iceoryx: client send failed");
        return {};
    }

    Result<> receive(Op op, std::uint64_t seq) {
        Spinner spinner;
        for (;;) {
            auto taken = client_->take();
            if (taken.has_error()) {
                if (waitset_) waitset_->wait();
                else spinner.pause();
                continue;
            }
            const PayloadCheck msg = check_payload(taken.value(), job_.payload);
            client_->releaseResponse(taken.value());
            if (!payload_is(msg, op, seq)) return fail(Errc::malformed, "response payload mismatch");
            return {};
        }
    }

    std::string tail_of_log() const {
        std::string log = read_file(log_path_);
        if (log.size() > 600) log = "..." + log.substr(log.size() - 600);
        return log.empty() ? "(no output)" : log;
    }

    JobSpec job_;
    pid_t roudi_ = -1;
    std::string config_path_;
    std::string log_path_;
    // Client child only.
    std::optional<iox::popo::UntypedClient> client_;
    std::optional<iox::popo::WaitSet<>> waitset_;
};

}  // namespace

std::unique_ptr<Transport> make_iceoryx_transport() { return std::make_unique<IceoryxTransport>(); }

}  // namespace liteipc::bench
