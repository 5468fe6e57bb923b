// The chaos test's peers: a service that checks every request and counts oneway messages per
// sender, and a client that calls and sends at full speed, checks every reply (also the ones it
// still holds) and reports what it saw. Both report to the driver over the peer report pipe.
#include <signal.h>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "chaos_protocol.h"
#include "liteipc/ipc.h"
#include "peer_role.h"
#include "process_state.h"

namespace liteipc::testing {
namespace {

using namespace std::chrono_literals;
using chaos::Event;
using chaos::EventKind;
using chaos::Violation;

void send_event(EventKind kind, std::initializer_list<uint64_t> values, const char* text = nullptr) {
    Event event{};
    event.kind = kind;
    std::size_t i = 0;
    for (uint64_t v : values) event.v[i++] = v;
    if (text) std::snprintf(event.text, sizeof event.text, "%s", text);
    report(event);
}

template <typename... Args>
void violation(Violation what, const char* format, Args... args) {
    char text[176];
    std::snprintf(text, sizeof text, format, args...);
    send_event(EventKind::violation, {static_cast<uint64_t>(what)}, text);
}

// Opens a context, retrying while the loader is down (the driver restarts it).
std::optional<Context> open_context(const ContextOptions& options) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (auto context = Context::open(options)) return std::move(*context);
        std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
}

void report_ready(const Context& context) {
    PeerId self = context.self();
    send_event(EventKind::ready, {self.slot, self.generation, self.pid});
}

// ---- service ----

struct SenderTally {
    std::vector<bool> seen;  // by sequence number
    uint64_t received = 0;
};

std::mutex g_tallies_mutex;
std::map<uint64_t, SenderTally> g_tallies;  // by sender key

int32_t serve(Call& call) {
    Reader& request = call.request();
    uint64_t key = request.read_uint64(), seq = request.read_uint64();
    if (call.code() == chaos::kCall) {
        uint32_t reply_size = request.read_uint32();
        auto sent = request.read_buffer();
        if (!request.ok() || !chaos::pattern_matches(sent, key, seq * 2))
            violation(Violation::request_bytes, "call key %llx seq %llu: request buffer of %zu bytes differs (%s)",
                      (unsigned long long)key, (unsigned long long)seq, sent.size(), request.error_reason());
        call.reply().write_uint64(key);
        call.reply().write_uint64(seq);
        std::span<std::byte> out = call.reply().reserve_buffer(reply_size);
        chaos::fill_pattern(out, key, seq * 2 + 1);
        return call.reply().ok() ? 0 : -1;
    }
    if (call.code() == chaos::kOneway) {
        auto sent = request.read_buffer();
        if (!request.ok() || !chaos::pattern_matches(sent, key, seq * 2))
            violation(Violation::request_bytes, "oneway key %llx seq %llu: buffer of %zu bytes differs",
                      (unsigned long long)key, (unsigned long long)seq, sent.size());
        std::lock_guard lock(g_tallies_mutex);
        SenderTally& tally = g_tallies[key];
        if (tally.seen.size() <= seq) tally.seen.resize(seq * 2 + 64);
        if (tally.seen[seq])
            violation(Violation::oneway_duplicate, "oneway key %llx seq %llu arrived twice", (unsigned long long)key,
                      (unsigned long long)seq);
        tally.seen[seq] = true;
        ++tally.received;
        return 0;
    }
    return -1;
}

}  // namespace

// chaos_service <context options> <name> <workers>: serves until killed; on kReport sends its
// received tallies and what it holds.
LITEIPC_PEER_ROLE(chaos_service) {
    ContextOptions context_options = read_context_options(args);
    ServiceOptions options;
    options.name = args.text();
    options.workers = static_cast<unsigned>(args.number());
    auto context = open_context(context_options);
    if (!context) {
        violation(Violation::peer_failed, "service %s: no context within 20 s", options.name.c_str());
        return 100;
    }
    std::optional<Service> service;
    for (int attempt = 0; attempt < 200 && !service; ++attempt) {
        if (auto started = Service::start(*context, options, serve))
            service.emplace(std::move(*started));
        else
            std::this_thread::sleep_for(50ms);
    }
    if (!service) {
        violation(Violation::peer_failed, "service %s did not start", options.name.c_str());
        return 101;
    }
    const int fds_at_start = open_fd_count(), mappings_at_start = liteipc_mapping_count();
    report_ready(*context);
    char command;
    while (receive(command)) {
        if (command != chaos::kReport) continue;
        {
            std::lock_guard lock(g_tallies_mutex);
            for (auto& [key, tally] : g_tallies) send_event(EventKind::received_tally, {key, tally.received});
        }
        send_event(EventKind::resources,
                   {service->connection_count(), static_cast<uint64_t>(open_fd_count()),
                    static_cast<uint64_t>(liteipc_mapping_count()), static_cast<uint64_t>(fds_at_start),
                    static_cast<uint64_t>(mappings_at_start)});
        send_event(EventKind::done, {});
    }
    ::_exit(0);  // the driver is gone
}

namespace {

// ---- client ----

std::atomic<uint64_t> g_continued{0};  // SIGCONTs received: a call across one was not ours to time
void on_continue(int) { g_continued.fetch_add(1, std::memory_order_relaxed); }

struct ServiceLink {
    std::mutex mutex;
    std::shared_ptr<Connection> conn;
    uint32_t serial = 0;
    PeerId peer{};
    std::atomic<uint64_t> next_seq{1};
    std::atomic<uint64_t> oneway_sent{0};
};

struct Subscription {
    PeerId peer;
    std::shared_ptr<std::atomic<int>> notices;
    DeathSubscription handle;
};

class ChaosClient {
public:
    ChaosClient(Context& context, unsigned services, std::chrono::milliseconds timeout)
        : context_(context), links_(services), timeout_(timeout) {}

    void run_load(unsigned threads) {
        for (unsigned t = 0; t < threads; ++t) threads_.emplace_back([this, t] { load(t); });
        threads_.emplace_back([this] { report_progress(); });
    }
    void stop_load() {
        stop_ = true;
        for (auto& thread : threads_) thread.join();
        threads_.clear();
        flush_progress();
    }
    void report_tallies() {
        for (unsigned s = 0; s < links_.size(); ++s) {
            ServiceLink& link = links_[s];
            std::lock_guard lock(link.mutex);
            if (link.conn && link.conn->alive())
                send_event(EventKind::oneway_tally, {s, link.peer.pid, chaos::sender_key(::getpid(), link.serial),
                                                     link.oneway_sent.load()});
        }
        std::lock_guard lock(subscriptions_mutex_);
        for (auto& sub : subscriptions_)
            send_event(EventKind::subscription_tally,
                       {sub.peer.pid, sub.peer.generation, static_cast<uint64_t>(sub.notices->load())});
    }
    void close_all() {
        for (ServiceLink& link : links_) {
            std::lock_guard lock(link.mutex);
            link.conn.reset();
        }
    }

private:
    // The link's connection, opened again once its service is gone; null while it cannot be.
    std::shared_ptr<Connection> connection(unsigned s, uint32_t& serial) {
        ServiceLink& link = links_[s];
        std::lock_guard lock(link.mutex);
        serial = link.serial;
        if (link.conn && link.conn->alive()) return link.conn;
        link.conn.reset();
        std::string name = "chaos.svc." + std::to_string(s);
        ConnectOptions options;
        options.timeout = 2000ms;
        uint64_t started = chaos::monotonic_ns();
        auto opened = Connection::open(context_, name, options);
        if (!opened) {
            // A restarting service is not found for a moment; a connect that times out on a
            // registered one is the driver's to judge (was that service stopped or dying?).
            if (opened.error().code == Errc::timed_out)
                send_event(EventKind::connect_timeout, {s, started, chaos::monotonic_ns()});
            return nullptr;
        }
        link.conn = std::make_shared<Connection>(std::move(*opened));
        link.serial = ++serials_;
        link.peer = link.conn->service();
        link.next_seq = 1;
        link.oneway_sent = 0;
        subscribe(link.peer);
        serial = link.serial;
        return link.conn;
    }

    // One subscription per service incarnation this client met.
    void subscribe(const PeerId& peer) {
        std::lock_guard lock(subscriptions_mutex_);
        for (auto& sub : subscriptions_)
            if (sub.peer == peer) return;
        auto notices = std::make_shared<std::atomic<int>>(0);
        auto handle = context_.on_death(peer, [notices, peer](const DeathNotice&) {
            if (notices->fetch_add(1) == 1)
                violation(Violation::death_notice_twice, "death of service pid %u told twice to client pid %d",
                          peer.pid, ::getpid());
        });
        if (!handle) return;
        subscriptions_.push_back(Subscription{peer, notices, std::move(*handle)});
    }

    void load(unsigned thread) {
        static constexpr uint32_t kReplySizes[] = {0, 16, 200, 300, 4096, 65536, 262144};
        static constexpr uint32_t kRequestSizes[] = {0, 8, 256, 4096};
        struct Held {
            Reply reply;
            uint64_t key, seq;
            uint32_t size;
        };
        std::deque<Held> held;  // the last replies, checked again after every call
        uint64_t round = thread;
        while (!stop_) {
            unsigned s = static_cast<unsigned>(round++ % links_.size());
            uint32_t serial = 0;
            auto conn = connection(s, serial);
            if (!conn) {
                std::this_thread::sleep_for(5ms);
                continue;
            }
            ServiceLink& link = links_[s];
            uint64_t key = chaos::sender_key(static_cast<uint32_t>(::getpid()), serial);
            uint32_t reply_size = kReplySizes[round % std::size(kReplySizes)];
            uint32_t request_size = kRequestSizes[(round / 7) % std::size(kRequestSizes)];
            uint64_t seq = round * 64 + thread;  // calls: any distinct number; oneways: link.next_seq
            Request request(*conn);
            request.writer().write_uint64(key);
            request.writer().write_uint64(seq);
            request.writer().write_uint32(reply_size);
            chaos::fill_pattern(request.writer().reserve_buffer(request_size), key, seq * 2);
            uint64_t continued = g_continued.load();
            uint64_t started = chaos::monotonic_ns();
            auto reply = conn->call(chaos::kCall, request, timeout_);
            uint64_t ended = chaos::monotonic_ns();
            bool own_stop = g_continued.load() != continued;
            if (!reply) {
                Errc code = reply.error().code;
                (code == Errc::dead_object ? dead_ : timed_out_).fetch_add(1);
                if (code != Errc::dead_object && code != Errc::timed_out)
                    violation(Violation::wrong_error, "call to service %u ended with %s", s,
                              reply.error().describe().c_str());
                if (!own_stop && ended - started > uint64_t(timeout_.count()) * 1'000'000)
                    send_event(EventKind::late_call, {s, started, ended, uint64_t(timeout_.count()), uint64_t(code)});
            } else {
                replied_.fetch_add(1);
                if (!own_stop && ended - started > uint64_t(timeout_.count()) * 1'000'000)
                    send_event(EventKind::late_call, {s, started, ended, uint64_t(timeout_.count()), 0});
                if (!check_reply(*reply, key, seq, reply_size))
                    violation(Violation::reply_bytes, "reply of %u bytes from service %u (key %llx seq %llu) differs",
                              reply_size, s, (unsigned long long)key, (unsigned long long)seq);
                held.push_back(Held{std::move(*reply), key, seq, reply_size});
                if (held.size() > 4) held.pop_front();
                for (const Held& h : held)
                    if (!check_reply(h.reply, h.key, h.seq, h.size)) {
                        violation(Violation::held_reply_changed,
                                  "a held reply of %u bytes (key %llx seq %llu) changed under its reader", h.size,
                                  (unsigned long long)h.key, (unsigned long long)h.seq);
                        held.clear();  // told once; start over
                        break;
                    }
            }
            // Two oneway messages per call, numbered per connection.
            for (int i = 0; i < 2 && !stop_; ++i) {
                std::lock_guard lock(link.mutex);  // one sequence per connection, sent in order
                if (link.conn != conn) break;  // reconnected meanwhile: that connection counts anew
                uint64_t oneway_seq = link.next_seq.load();
                Request message(*conn);
                message.writer().write_uint64(key);
                message.writer().write_uint64(oneway_seq);
                chaos::fill_pattern(message.writer().reserve_buffer(i == 0 ? 24 : 1024), key, oneway_seq * 2);
                if (conn->send(chaos::kOneway, message, timeout_)) {
                    link.next_seq = oneway_seq + 1;
                    link.oneway_sent.fetch_add(1);
                    oneway_.fetch_add(1);
                }
            }
        }
    }

    static bool check_reply(const Reply& reply, uint64_t key, uint64_t seq, uint32_t size) {
        Reader reader = reply.reader();
        uint64_t got_key = reader.read_uint64(), got_seq = reader.read_uint64();
        auto bytes = reader.read_buffer();
        return reply.status() == 0 && reader.ok() && got_key == key && got_seq == seq && bytes.size() == size &&
               chaos::pattern_matches(bytes, key, seq * 2 + 1);
    }

    void report_progress() {
        while (!stop_) {
            std::this_thread::sleep_for(500ms);
            flush_progress();
        }
    }
    void flush_progress() {
        send_event(EventKind::progress,
                   {replied_.exchange(0), dead_.exchange(0), timed_out_.exchange(0), oneway_.exchange(0)});
    }

    Context& context_;
    std::vector<ServiceLink> links_;
    std::chrono::milliseconds timeout_;
    std::atomic<bool> stop_{false};
    std::vector<std::thread> threads_;
    std::atomic<uint32_t> serials_{0};
    std::atomic<uint64_t> replied_{0}, dead_{0}, timed_out_{0}, oneway_{0};
    std::mutex subscriptions_mutex_;
    std::vector<Subscription> subscriptions_;
};

}  // namespace

// chaos_client <context options> <services> <threads> <call timeout ms>: loads every service
// until told kQuiesce; then kClose closes its connections and reports what it holds.
LITEIPC_PEER_ROLE(chaos_client) {
    ContextOptions context_options = read_context_options(args);
    auto services = static_cast<unsigned>(args.number());
    auto threads = static_cast<unsigned>(args.number());
    auto timeout = std::chrono::milliseconds(args.number());
    struct sigaction on_cont{};
    on_cont.sa_handler = on_continue;
    on_cont.sa_flags = SA_RESTART;
    ::sigaction(SIGCONT, &on_cont, nullptr);
    auto context = open_context(context_options);
    if (!context) {
        violation(Violation::peer_failed, "client: no context within 20 s");
        return 100;
    }
    const int fds_at_start = open_fd_count(), mappings_at_start = liteipc_mapping_count();
    auto* client = new ChaosClient(*context, services, timeout);  // killed, not destroyed, most times
    report_ready(*context);
    client->run_load(threads);
    char command;
    while (receive(command)) {
        if (command == chaos::kQuiesce) {
            client->stop_load();
            client->report_tallies();
            send_event(EventKind::done, {});
        } else if (command == chaos::kClose) {
            client->close_all();
            std::this_thread::sleep_for(200ms);
            send_event(EventKind::resources,
                       {0, static_cast<uint64_t>(open_fd_count()), static_cast<uint64_t>(liteipc_mapping_count()),
                        static_cast<uint64_t>(fds_at_start), static_cast<uint64_t>(mappings_at_start)});
            send_event(EventKind::done, {});
        }
    }
    ::_exit(0);
}

}  // namespace liteipc::testing
