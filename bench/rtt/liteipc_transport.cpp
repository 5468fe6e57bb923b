// liteipc itself: a Service with one worker in the server child, a Connection in the client child.
//
//   round trip   Connection::call_raw: the request payload is written in place in the client's
//                request pool, the service checks it in place (Call::payload()) and writes the
//                reply in place in its reply pool (Call::reply_raw()); the client checks the
//                reply in place (Reply::payload()). Payloads of 200 B and less travel inline in
//                the call slot's descriptor, as liteipc sends them.
//   stream       oneway batches (Connection::begin_batch / send_batch): each message is written in
//                place in the request pool (OnewayBatch::append), up to 256 messages or 256 KiB go
//                out with one ring update and one doorbell, and the service checks each message in
//                place (Call::payload()), one handler run per message. The last message is a
//                call_raw round trip whose reply is the acknowledgement.
//   regimes      busy: ConnectOptions::spin and ServiceOptions::spin of 1 s, so neither side
//                sleeps between messages; blocking: both 0, so both sleep on a futex at once.
//
// `liteipc-mediated` is the same with a mediated service (ServiceOptions::mode): every message
// passes the kernel's send program, so the two rows differ by what mediation costs.
//
// The run starts a private liteipc-loader (private_loader.h) and stops it at the end.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include "liteipc/context.h"
#include "liteipc/ipc.h"
#include "liteipc/parcel.h"
#include "payload.h"
#include "private_loader.h"
#include "sys.h"
#include "transport.h"

namespace liteipc::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Call codes: raw payloads (round trips, the flush, stop) and Parcel requests (stream data).
enum Code : std::uint32_t { kRaw = 1, kBatched = 3, kInFlight = 4 };

// Spin budgets meaning "never sleep" and "sleep at once".
constexpr std::chrono::nanoseconds kSpinForever = 1s;
constexpr std::chrono::nanoseconds kSpinNever = 0ns;
// Timeout of every call: long enough for a 16 MiB round trip on a loaded machine.
constexpr std::chrono::milliseconds kCallTimeout = 30s;

// Pools per connection: room for two payloads each way plus slack for the Parcel messages, so a
// stream can have one message being checked while the next is written; never less than 4 MiB.
constexpr std::uint64_t kPoolSlack = 1u << 20;
std::uint64_t pool_bytes(std::size_t payload) {
    return std::max<std::uint64_t>(4u << 20, 2 * std::uint64_t{payload} + kPoolSlack);
}
// Calls in flight at once: bounds how far a oneway stream runs ahead of the service.
constexpr std::uint32_t kSlots = 256;

class LiteipcTransport final : public Transport {
public:
    explicit LiteipcTransport(Mode mode) : mode_(mode) {}
    ~LiteipcTransport() override { close_run(); }

    std::string_view name() const override { return mode_ == Mode::mediated ? kLiteipcMediated : kLiteipc; }

    std::optional<std::string> unsupported(Regime, std::size_t payload) const override {
        if (geteuid() != 0) return "needs root: the run starts its own liteipc-loader, which loads BPF programs";
        if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) return "kernel has no BTF (/sys/kernel/btf/vmlinux)";
        if (payload > kMaxPoolBufferSize) return "payload above liteipc's largest pool buffer (64 MiB)";
        return std::nullopt;
    }

    Result<> open_run() override {
        if (geteuid() != 0) return fail(Errc::permission_denied, "liteipc-loader needs root");
        return loader_.start(std::to_string(getpid()) + (mode_ == Mode::mediated ? "-mediated" : ""));
    }

    void close_run() override { loader_.stop(); }

    Result<> setup(const JobSpec& job) override {
        job_ = job;
        service_name_ = "ipc_bench.job" + std::to_string(job.job_id);
        return {};
    }

    // ---- server child ----

    Result<> serve() override {
        auto context = Context::open(context_options());
        if (!context) return std::unexpected(context.error());
        ServiceOptions options;
        options.name = service_name_;
        options.policy = Policy::same_uid;
        options.workers = 1;
        options.spin = spin();
        options.reply_pool_bytes = pool_bytes(job_.payload);
        options.mode = mode_;
        auto started = Service::start(*context, options, [this](Call& call) { return handle(call); });
        if (!started) return std::unexpected(started.error());
        std::optional<Service> service(std::move(*started));

        // The worker answers stop and wakes us; give the client a moment to read the reply and
        // close its connection before the service goes.
        while (done_.load(std::memory_order_acquire) == 0) done_.wait(0, std::memory_order_acquire);
        const auto deadline = Clock::now() + 2s;
        while (service->connection_count() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
        service.reset();  // stop the worker before reading the verdict
        std::lock_guard lock(error_mutex_);
        if (!error_.empty()) return fail(Errc::malformed, error_);
        return {};
    }

    // ---- client child ----

    Result<> connect() override {
        auto context = Context::open(context_options());
        if (!context) return std::unexpected(context.error());
        context_.emplace(std::move(*context));
        ConnectOptions options;
        options.request_pool_bytes = pool_bytes(job_.payload);
        options.slots = kSlots;
        options.spin = spin();
        // The server child registers the service concurrently: retry while the name is unknown.
        const auto deadline = Clock::now() + 20s;
        for (;;) {
            auto connection = Connection::open(*context_, service_name_, options);
            if (connection) {
                connection_.emplace(std::move(*connection));
                return {};
            }
            if (connection.error().code != Errc::not_found || Clock::now() > deadline)
                return std::unexpected(connection.error());
            std::this_thread::sleep_for(1ms);
        }
    }

    Result<> round_trip(std::uint64_t seq) override { return call(Op::request, Op::reply, seq); }

    Result<> stream(std::uint64_t first_seq, std::uint64_t count) override {
        const std::size_t n = job_.payload;
        const std::uint64_t frame = sizeof(std::uint64_t) + (n + 7) / 8 * 8;  // header + padded bytes
        const std::uint64_t per_batch = std::clamp<std::uint64_t>((256u << 10) / frame, 1, 256);
        for (std::uint64_t i = 0; i + 1 < count;) {
            const std::uint64_t in_batch = std::min(per_batch, count - 1 - i);
            auto batch = connection_->begin_batch(in_batch * frame, kCallTimeout);
            if (!batch) return std::unexpected(batch.error());
            for (std::uint64_t k = 0; k < in_batch; ++k, ++i) {
                std::span<std::byte> out = batch->append(n);
                if (out.size() != n) return fail(Errc::malformed, "oneway batch had no room for a message");
                fill_payload(out.data(), n, Op::data, first_seq + i);
            }
            if (auto sent = connection_->send_batch(kBatched, *batch, kCallTimeout); !sent) return sent;
        }
        return call(Op::flush, Op::ack, first_seq + count - 1);
    }

    Result<InFlight> in_flight(std::size_t depth, std::uint64_t calls) override {
        InFlight figures;
        // One thread, `depth` asynchronous calls kept in flight, collected oldest first.
        std::vector<PendingReply> ring(depth);
        auto start = Clock::now();
        std::uint64_t issued = 0, collected = 0;
        auto issue = [&]() -> Result<> {
            Request request(*connection_);
            request.writer().write_uint64(issued);
            auto pending = connection_->call_async(kInFlight, request, kCallTimeout);
            if (!pending) return std::unexpected(pending.error());
            ring[issued++ % depth] = std::move(*pending);
            return {};
        };
        while (issued < std::min<std::uint64_t>(depth, calls))
            if (auto r = issue(); !r) return std::unexpected(r.error());
        while (collected < calls) {
            auto reply = ring[collected % depth].wait(kCallTimeout);
            if (!reply) return std::unexpected(reply.error());
            if (reply->reader().read_uint64() != collected + 1) return fail(Errc::malformed, "async reply mismatch");
            ++collected;
            if (issued < calls)
                if (auto r = issue(); !r) return std::unexpected(r.error());
        }
        figures.async_calls_per_s = calls * 1e9 / std::chrono::duration<double, std::nano>(Clock::now() - start).count();

        // `depth` threads, each blocking on its own calls.
        std::atomic<bool> wrong{false};
        std::vector<std::thread> threads;
        start = Clock::now();
        for (std::size_t t = 0; t < depth; ++t) {
            threads.emplace_back([&, t] {
                for (std::uint64_t i = t; i < calls; i += depth) {
                    Request request(*connection_);
                    request.writer().write_uint64(i);
                    auto reply = connection_->call(kInFlight, request, kCallTimeout);
                    if (!reply || reply->reader().read_uint64() != i + 1) wrong.store(true);
                }
            });
        }
        for (auto& thread : threads) thread.join();
        if (wrong.load()) return fail(Errc::malformed, "a blocking call in flight failed or was answered wrong");
        figures.threads_calls_per_s = calls * 1e9 / std::chrono::duration<double, std::nano>(Clock::now() - start).count();
        return figures;
    }

    Result<> stop() override {
        auto r = call(Op::stop, Op::stop, 0);
        connection_.reset();
        context_.reset();
        return r;
    }

    void teardown() override {}

private:
    ContextOptions context_options() const {
        ContextOptions o;
        o.socket_path = loader_.socket();
        o.pin_root = loader_.pin_root();
        o.default_timeout = kCallTimeout;
        return o;
    }

    std::chrono::nanoseconds spin() const { return job_.regime == Regime::busy ? kSpinForever : kSpinNever; }

    // A raw round trip: request of `op` written in place, reply checked in place. A stop is
    // answered with an empty reply.
    Result<> call(Op op, Op expect, std::uint64_t seq) {
        const std::size_t n = job_.payload;
        auto reply = connection_->call_raw(
            kRaw, n, [&](std::span<std::byte> out) { fill_payload(out.data(), n, op, seq); }, kCallTimeout);
        if (!reply) return std::unexpected(reply.error());
        if (reply->status() != 0)
            return fail(Errc::malformed, "service answered status " + std::to_string(reply->status()));
        if (op == Op::stop) return {};
        const auto payload = reply->payload();
        if (payload.size() != n) return fail(Errc::malformed, "reply of " + std::to_string(payload.size()) + " bytes");
        if (!payload_is(check_payload(payload.data(), n), expect, seq))
            return fail(Errc::malformed, "reply payload mismatch");
        return {};
    }

    // Worker thread of the server child.
    int32_t handle(Call& call) {
        const std::size_t n = job_.payload;
        if (call.code() == kInFlight) {
            call.reply().write_uint64(call.request().read_uint64() + 1);
            return call.request().ok() ? 0 : record("call in flight without its number");
        }
        if (call.code() == kBatched) {
            const auto message = call.payload();
            if (message.size() != n) return record("stream message of " + std::to_string(message.size()) + " bytes");
            const PayloadCheck msg = check_payload(message.data(), n);
            if (!msg.intact || msg.op != Op::data) return record("stream payload mismatch");
            return 0;
        }
        const auto payload = call.payload();
        if (payload.size() != n) return record("request of " + std::to_string(payload.size()) + " bytes");
        const PayloadCheck msg = check_payload(payload.data(), n);
        if (!msg.intact) return record("request payload checksum mismatch");
        switch (msg.op) {
            case Op::request:
            case Op::flush: {
                {
                    std::lock_guard lock(error_mutex_);
                    if (!error_.empty()) return -1;  // an earlier stream message was wrong
                }
                auto out = call.reply_raw(n);
                if (!out) return record("reply_raw: " + out.error().describe());
                fill_payload(out->data(), n, msg.op == Op::request ? Op::reply : Op::ack, msg.seq);
                return 0;
            }
            case Op::stop:
                done_.store(1, std::memory_order_release);
                done_.notify_all();
                return 0;
            default: return record("unexpected op in a request");
        }
    }

    int32_t record(const std::string& what) {
        std::lock_guard lock(error_mutex_);
        if (error_.empty()) error_ = what;
        return -1;
    }

    const Mode mode_;
    JobSpec job_;
    std::string service_name_;
    BenchLoader loader_;  // the run's (harness process; its paths are inherited by the children)
    // Server child.
    std::atomic<std::uint32_t> done_{0};
    std::mutex error_mutex_;
    std::string error_;
    // Client child.
    std::optional<Context> context_;
    std::optional<Connection> connection_;
};

}  // namespace

std::unique_ptr<Transport> make_liteipc_transport() { return std::make_unique<LiteipcTransport>(Mode::direct); }
std::unique_ptr<Transport> make_liteipc_mediated_transport() {
    return std::make_unique<LiteipcTransport>(Mode::mediated);
}

}  // namespace liteipc::bench
