// Chaos under load: services and clients in their own processes call and send at full speed while
// the driver SIGKILLs and restarts services and clients, SIGSTOPs and resumes some, and kills and
// restarts the loader. Afterwards every invariant is checked and every breach printed with its
// evidence:
//  - every call ended with a reply, dead_object or timed_out within its timeout plus a slack;
//  - every reply's bytes (and every held reply's bytes, later) are what the service wrote;
//  - no oneway message to a live receiver was lost or came twice (sequence numbers per sender);
//  - each death was told exactly once to each subscriber;
//  - every connect to a registered, running service went through;
//  - what services, clients, the kernel plane, hugepages and the loader hold is back to baseline.
//
// LITEIPC_CHAOS_SECONDS sets the length (CI: the short mode), LITEIPC_CHAOS_SEED the fault plan.
#include <bpf/bpf.h>
#include <poll.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "chaos_protocol.h"
#include "hugepage_holdings.h"
#include "loader_fixture.h"
#include "peer.h"
#include "peer_args.h"
#include "process_state.h"
#include "test_processes.h"

namespace liteipc::testing {
namespace {

using chaos::Event;
using chaos::EventKind;
using chaos::Violation;

long env_number(const char* name, long fallback) {
    const char* v = std::getenv(name);
    return v ? std::atol(v) : fallback;
}

const char* violation_name(Violation v) {
    switch (v) {
        case Violation::late_call: return "call outlived its timeout + slack";
        case Violation::wrong_error: return "call ended with an error other than dead_object/timed_out";
        case Violation::reply_bytes: return "reply bytes differ from what the service wrote";
        case Violation::request_bytes: return "request bytes differ from what the client wrote";
        case Violation::held_reply_changed: return "a held reply changed under its reader";
        case Violation::oneway_duplicate: return "oneway message delivered twice";
        case Violation::oneway_lost: return "oneway message to a live receiver lost";
        case Violation::death_notice_twice: return "death told twice to a subscriber";
        case Violation::death_notice_missing: return "death never told to a subscriber";
        case Violation::death_notice_spurious: return "death told for a peer that lives";
        case Violation::connect_lost: return "connect to a registered, running service timed out";
        case Violation::service_resources: return "service holds more than its open connections need";
        case Violation::client_resources: return "client holds more after closing every connection";
        case Violation::kernel_entries: return "kernel-plane map entries not back to baseline";
        case Violation::hugepages: return "hugepages not back to baseline";
        case Violation::loader_memory: return "loader memory or fds not back to baseline";
        case Violation::peer_failed: return "a peer could not start";
    }
    return "?";
}

// A time span in which a party could not be expected to answer: stopped, dead or restarting.
struct Outage {
    std::string who;  // "service 2", "client 0", "loader"
    uint64_t from_ns, to_ns;
};

// One incarnation of a service or client process.
struct ChaosPeer {
    bool is_service = false;
    unsigned index = 0;
    Peer process;
    PeerId id{};
    std::unique_ptr<NoticeBox> deaths = std::make_unique<NoticeBox>();
    DeathSubscription subscription;
    bool stopped = false;
    uint64_t stopped_at = 0, resume_at = 0;
    std::string who() const { return (is_service ? "service " : "client ") + std::to_string(index); }
};

// Entries in the kernel plane's hash maps: what connections, subscriptions, services and grants hold.
std::map<std::string, long> kernel_entries(const std::string& pin_root) {
    std::map<std::string, long> counts;
    for (const char* name : {"tgid_slot", "services", "svc_names", "grants", "conns", "subs", "svc_stats"}) {
        int fd = bpf_obj_get((pin_root + "/" + name).c_str());
        if (fd < 0) {
            counts[name] = -1;
            continue;
        }
        bpf_map_info info{};
        uint32_t length = sizeof info;
        bpf_obj_get_info_by_fd(fd, &info, &length);
        std::vector<std::byte> key(info.key_size), next(info.key_size);
        long count = 0;
        void* previous = nullptr;
        while (bpf_map_get_next_key(fd, previous, next.data()) == 0) {
            ++count;
            key = next;
            previous = key.data();
        }
        ::close(fd);
        counts[name] = count;
    }
    return counts;
}

long processes_alive_now(Context& context) {
    auto status = context.loader_status();
    if (!status) return -1;
    auto at = status->find("\"processes_alive\":");
    return at == std::string::npos ? -1 : std::stol(status->substr(at + 18));
}

class Chaos {
public:
    Chaos()
        : seconds_(env_number("LITEIPC_CHAOS_SECONDS", 40)),
          seed_(static_cast<uint32_t>(env_number("LITEIPC_CHAOS_SEED", 20261128))),
          random_(seed_),
          loader_("chaos") {}

    void run() {
        ASSERT_TRUE(loader_.start());
        auto context = Context::open(loader_.options());
        ASSERT_TRUE(context) << context.error().describe();
        context_.emplace(std::move(*context));
        baseline();

        for (unsigned s = 0; s < kServices; ++s) start_peer(true, s);
        for (unsigned c = 0; c < kClients; ++c) start_peer(false, c);
        std::printf("chaos: %u services x %u workers, %u clients x %u threads, call timeout %lld ms, %ld s, seed %u\n",
                    kServices, kWorkers, kClients, kClientThreads, (long long)kCallTimeout.count(), seconds_, seed_);

        inject_faults();
        quiesce_and_check();
        stop_everything_and_check_baselines();
        summarize();
    }

private:
    static constexpr unsigned kServices = 3, kWorkers = 2, kClients = 3, kClientThreads = 2;
    static constexpr std::chrono::milliseconds kCallTimeout{500};
    static constexpr uint64_t kSlackNs = 300'000'000;  // a loaded 2-core machine schedules late
    static constexpr long kLoaderRssSlackKb = 2048;

    // ---- processes ----

    void start_peer(bool is_service, unsigned index) {
        auto peer = std::make_unique<ChaosPeer>();
        peer->is_service = is_service;
        peer->index = index;
        peer->process = is_service
            ? Peer::spawn("chaos_service", peer_args(loader_.options(), "chaos.svc." + std::to_string(index), kWorkers))
            : Peer::spawn("chaos_client",
                          peer_args(loader_.options(), kServices, kClientThreads, kCallTimeout.count()));
        ChaosPeer& p = *peer;
        (is_service ? services_ : clients_)[index] = std::move(peer);
        // Events until ready (violations on the way are kept).
        for (;;) {
            Event event;
            if (!p.process.read(event, std::chrono::seconds(30))) {
                breach(Violation::peer_failed, p.who() + " reported nothing at start");
                return;
            }
            if (event.kind != EventKind::ready) {
                handle(p, event);
                continue;
            }
            p.id = PeerId{static_cast<uint32_t>(event.v[0]), event.v[1], static_cast<uint32_t>(event.v[2])};
            break;
        }
        if (auto sub = context_->on_death(p.id, p.deaths->callback())) p.subscription = std::move(*sub);
        ++started_[is_service];
    }

    // SIGKILL, reap, remember for the death checks, start the next incarnation.
    void kill_and_restart(std::unique_ptr<ChaosPeer>& slot) {
        ChaosPeer& p = *slot;
        uint64_t killed_at = chaos::monotonic_ns();
        p.process.signal(SIGKILL);
        drain(p, /*until_eof=*/true);
        p.process.wait();
        p.process = Peer();  // its pipes too
        if (p.stopped) outages_.push_back({p.who(), p.stopped_at, killed_at});
        dead_.push_back(std::move(slot));
        bool is_service = dead_.back()->is_service;
        unsigned index = dead_.back()->index;
        start_peer(is_service, index);
        outages_.push_back({dead_.back()->who(), killed_at, chaos::monotonic_ns()});
        ++kills_[is_service];
    }

    void stop(ChaosPeer& p, std::chrono::milliseconds how_long) {
        if (p.stopped) return;
        p.process.signal(SIGSTOP);
        p.stopped = true;
        p.stopped_at = chaos::monotonic_ns();
        p.resume_at = p.stopped_at + uint64_t(how_long.count()) * 1'000'000;
        ++stops_;
    }
    void resume(ChaosPeer& p) {
        if (!p.stopped) return;
        p.process.signal(SIGCONT);
        p.stopped = false;
        outages_.push_back({p.who(), p.stopped_at, chaos::monotonic_ns()});
    }

    void restart_loader(std::chrono::milliseconds down) {
        uint64_t killed_at = chaos::monotonic_ns();
        ::kill(loader_.pid(), SIGKILL);
        loader_.stop();  // reaps it
        std::this_thread::sleep_for(down);
        EXPECT_TRUE(loader_.start()) << "the loader did not come back after SIGKILL";
        outages_.push_back({"loader", killed_at, chaos::monotonic_ns()});
        (void)context_->loader_status();  // this process's context is back on the new loader
        // Peers reconnect to the new loader when they next need it, some of them before this count:
        // it is an upper bound of what the loader holds for this process alone (see the check).
        loader_fds_at_start_ = open_fd_count(loader_.pid());
        loader_rss_at_start_kb_ = status_kb(loader_.pid(), "VmRSS");
        ++loader_restarts_;
    }

    template <typename F>
    void for_each_live(F f) {
        for (auto& p : services_) if (p) f(*p);
        for (auto& p : clients_) if (p) f(*p);
    }

    // ---- events ----

    void drain(ChaosPeer& p, bool until_eof = false) {
        for (;;) {
            pollfd pfd{p.process.report_fd(), POLLIN, 0};
            if (pfd.fd < 0 || ::poll(&pfd, 1, until_eof ? 2000 : 0) <= 0) return;
            Event event;
            if (!read_all(pfd.fd, &event, sizeof event, std::chrono::milliseconds(1000))) return;
            handle(p, event);
        }
    }
    void drain_all() {
        for_each_live([&](ChaosPeer& p) { drain(p); });
    }

    void handle(ChaosPeer& p, const Event& e) {
        switch (e.kind) {
            case EventKind::progress:
                calls_replied_ += e.v[0];
                calls_dead_ += e.v[1];
                calls_timed_out_ += e.v[2];
                oneway_sent_ += e.v[3];
                break;
            case EventKind::violation:
                breach(static_cast<Violation>(e.v[0]), p.who() + " (pid " + std::to_string(p.id.pid) + "): " + e.text);
                break;
            case EventKind::late_call: {
                uint64_t took = e.v[2] - e.v[1];
                worst_call_ns_ = std::max(worst_call_ns_, took);
                if (took > e.v[3] * 1'000'000 + kSlackNs)
                    breach(Violation::late_call, p.who() + ": call to service " + std::to_string(e.v[0]) + " took " +
                                                     std::to_string(took / 1'000'000) + " ms (timeout " +
                                                     std::to_string(e.v[3]) + " ms, error " + std::to_string(e.v[4]) + ")");
                break;
            }
            case EventKind::connect_timeout: connect_timeouts_.push_back({p.who(), e.v[0], e.v[1], e.v[2]}); break;
            case EventKind::oneway_tally: oneway_tallies_.push_back({e.v[0], e.v[1], e.v[2], e.v[3]}); break;
            case EventKind::subscription_tally:
                subscription_tallies_.push_back({p.who(), static_cast<uint32_t>(e.v[0]), e.v[1], e.v[2]});
                break;
            case EventKind::received_tally: received_[p.index][e.v[0]] = e.v[1]; break;
            case EventKind::resources: resources_[p.who()] = {e.v[0], e.v[1], e.v[2], e.v[3], e.v[4]}; break;
            case EventKind::done: ++answers_; break;
            case EventKind::ready: break;
        }
    }

    // Sends `command` to each peer of a kind and collects their answers (bounded).
    bool ask(bool services, char command) {
        answers_ = 0;
        std::size_t asked = 0;
        for (auto& p : services ? services_ : clients_)
            if (p && p->process.send(command)) ++asked;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (answers_ < asked && std::chrono::steady_clock::now() < deadline) {
            for (auto& p : services ? services_ : clients_) {
                if (!p) continue;
                pollfd pfd{p->process.report_fd(), POLLIN, 0};
                if (::poll(&pfd, 1, 10) <= 0) continue;
                Event event;
                if (read_all(pfd.fd, &event, sizeof event, std::chrono::milliseconds(1000))) handle(*p, event);
            }
        }
        return answers_ >= asked;
    }

    void breach(Violation v, std::string evidence) {
        auto& list = breaches_[v];
        list.push_back(std::move(evidence));
    }

    // ---- phases ----

    void baseline() {
        entries_at_start_ = kernel_entries(loader_.pin_root());
        alive_at_start_ = processes_alive_now(*context_);
        hugepages_at_start_ = HugetlbHoldings::of_this_process_tree();
        loader_fds_at_start_ = open_fd_count(loader_.pid());
        loader_rss_at_start_kb_ = status_kb(loader_.pid(), "VmRSS");
        mappings_at_start_ = liteipc_mapping_count();
        fds_at_start_ = open_fd_count();
    }

    void inject_faults() {
        using namespace std::chrono;
        auto begin = steady_clock::now();
        auto end = begin + seconds(seconds_);
        auto next_loader_kill = begin + seconds(3);
        while (steady_clock::now() < end) {
            std::this_thread::sleep_for(milliseconds(50 + random_() % 200));
            drain_all();
            uint64_t now = chaos::monotonic_ns();
            for_each_live([&](ChaosPeer& p) {
                if (p.stopped && now >= p.resume_at) resume(p);
            });
            unsigned dice = random_() % 100;
            if (dice < 25) {
                kill_and_restart(services_[random_() % kServices]);
            } else if (dice < 45) {
                kill_and_restart(clients_[random_() % kClients]);
            } else if (dice < 80) {
                bool service = random_() % 2;
                auto& p = service ? services_[random_() % kServices] : clients_[random_() % kClients];
                stop(*p, milliseconds(100 + random_() % 700));
            } else if (steady_clock::now() >= next_loader_kill) {
                restart_loader(milliseconds(100 + random_() % 900));
                next_loader_kill = steady_clock::now() + seconds(3 + random_() % 4);
            }
        }
        for_each_live([&](ChaosPeer& p) { resume(p); });
        load_ended_ns_ = chaos::monotonic_ns();
    }

    void quiesce_and_check() {
        // Calls in flight end within their timeout; then the clients stop and say what they sent.
        std::this_thread::sleep_for(kCallTimeout + std::chrono::milliseconds(500));
        if (!ask(false, chaos::kQuiesce)) breach(Violation::peer_failed, "a client did not answer kQuiesce");

        // Every message a client sent on a connection that is still open must arrive, once.
        uint64_t missing = 0;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        do {
            received_.clear();
            if (!ask(true, chaos::kReport)) breach(Violation::peer_failed, "a service did not answer kReport");
            missing = 0;
            for (auto& t : oneway_tallies_) {
                uint64_t got = received_[t.service][t.key];
                if (got < t.sent) missing += t.sent - got;
            }
            if (missing > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
        } while (missing > 0 && std::chrono::steady_clock::now() < deadline);
        for (auto& t : oneway_tallies_) {
            uint64_t got = received_[t.service][t.key];
            oneway_checked_ += t.sent;
            // More than sent: a send that reported failure was delivered anyway.
            if (got != t.sent)
                breach(got < t.sent ? Violation::oneway_lost : Violation::oneway_duplicate,
                       "connection " + hex(t.key) + " to service " + std::to_string(t.service) + " (pid " +
                           std::to_string(t.service_pid) + "): sent " + std::to_string(t.sent) + ", received " +
                           std::to_string(got));
        }

        // Connects that timed out: fine only while that service, the client or the loader was out.
        for (auto& c : connect_timeouts_) {
            std::string service = "service " + std::to_string(c.service);
            bool excused = std::any_of(outages_.begin(), outages_.end(), [&](const Outage& o) {
                bool concerned = o.who == service || o.who == c.client || o.who == "loader";
                return concerned && o.from_ns <= c.ended_ns && o.to_ns >= c.started_ns;
            });
            for_each_live([&](ChaosPeer& p) {  // stopped right now counts too
                if (p.who() == service && p.stopped) excused = true;
            });
            if (!excused)
                breach(Violation::connect_lost, c.client + ": connect to " + service + " timed out after " +
                                                    std::to_string((c.ended_ns - c.started_ns) / 1'000'000) +
                                                    " ms while it ran and was registered");
        }

        // Each client's subscriptions: one notice per dead service incarnation, none for a live one.
        std::set<uint32_t> dead_services;
        for (auto& p : dead_) if (p->is_service) dead_services.insert(p->id.pid);
        for (auto& s : subscription_tallies_) {
            bool died = dead_services.contains(s.pid);
            if (died && s.notices == 0)
                breach(Violation::death_notice_missing, s.client + ": death of service pid " + std::to_string(s.pid) + " never told");
            if (!died && s.notices != 0)
                breach(Violation::death_notice_spurious, s.client + ": told of the death of live service pid " + std::to_string(s.pid));
            if (s.notices > 1)
                breach(Violation::death_notice_twice, s.client + ": death of service pid " + std::to_string(s.pid) +
                                                          " told " + std::to_string(s.notices) + " times");
            ++subscriptions_checked_;
        }

        // Every client closes every connection: clients and services must hold what they held
        // before any connection.
        if (!ask(false, chaos::kClose)) breach(Violation::peer_failed, "a client did not answer kClose");
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        for (int attempt = 0; attempt < 10; ++attempt) {
            if (!ask(true, chaos::kReport)) break;
            bool settled = true;
            for (auto& s : services_) {
                auto& r = resources_[s->who()];
                settled &= r.connections == 0 && r.fds <= r.fds_at_start && r.mappings <= r.mappings_at_start;
            }
            if (settled) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
        }
        for (auto& [who, r] : resources_) {
            bool service = who.rfind("service", 0) == 0;
            if (r.connections != 0 || r.fds > r.fds_at_start || r.mappings > r.mappings_at_start)
                breach(service ? Violation::service_resources : Violation::client_resources,
                       who + " after every client closed: " + std::to_string(r.connections) + " connections, " +
                           std::to_string(r.fds) + " fds (" + std::to_string(r.fds_at_start) + " at start), " +
                           std::to_string(r.mappings) + " liteipc mappings (" + std::to_string(r.mappings_at_start) +
                           " at start)");
        }
    }

    void stop_everything_and_check_baselines() {
        for_each_live([&](ChaosPeer& p) { p.process = Peer(); });  // SIGKILL, reap, close its pipes
        for (auto& p : services_) dead_.push_back(std::move(p));
        for (auto& p : clients_) dead_.push_back(std::move(p));
        std::this_thread::sleep_for(std::chrono::milliseconds(500));

        // The driver subscribed to every incarnation: each death told to it exactly once.
        for (auto& p : dead_) {
            p->deaths->wait_for(1, std::chrono::seconds(5));
            std::size_t told = p->deaths->size();
            if (told == 0) breach(Violation::death_notice_missing, "driver: death of " + p->who() + " pid " + std::to_string(p->id.pid) + " never told");
            if (told > 1) breach(Violation::death_notice_twice, "driver: death of " + p->who() + " pid " + std::to_string(p->id.pid) + " told " + std::to_string(told) + " times");
        }
        for (auto& p : dead_) p->subscription = DeathSubscription();

        // Kernel plane, hugepages, the loader and this process: back to where they started.
        auto settled = [&](auto value, auto expected) {
            for (int i = 0; i < 100 && value() != expected; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
            return value();
        };
        long alive = settled([&] { return processes_alive_now(*context_); }, alive_at_start_);
        if (alive != alive_at_start_)
            breach(Violation::kernel_entries, "processes alive " + std::to_string(alive) + ", at start " + std::to_string(alive_at_start_));
        auto entries = settled([&] { return kernel_entries(loader_.pin_root()); }, entries_at_start_);
        for (auto& [name, count] : entries)
            if (count != entries_at_start_[name])
                breach(Violation::kernel_entries, "map " + name + ": " + std::to_string(count) + " entries, at start " +
                                                      std::to_string(entries_at_start_[name]));
        if (std::string left = hugepages_left_over(hugepages_at_start_); !left.empty())
            breach(Violation::hugepages, "held beyond the start: " + left);
        // Only this process is left connected. Without a restart, the loader holds what it held at
        // the baseline; after one, at most what it held just after it came back, which may have
        // counted peers that had already reconnected.
        auto loader_fds_back = [&](int fds) { return loader_restarts_ == 0 ? fds == loader_fds_at_start_ : fds <= loader_fds_at_start_; };
        int loader_fds = open_fd_count(loader_.pid());
        for (int i = 0; i < 100 && !loader_fds_back(loader_fds); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            loader_fds = open_fd_count(loader_.pid());
        }
        loader_rss_kb_ = status_kb(loader_.pid(), "VmRSS");
        // The loader's heap may keep a few pages it freed; a leak per process or connection grows
        // past this over a run's hundreds of incarnations.
        if (loader_rss_kb_ > loader_rss_at_start_kb_ + kLoaderRssSlackKb)
            breach(Violation::loader_memory, "loader RSS " + std::to_string(loader_rss_kb_) + " kB, " +
                                                 std::to_string(loader_rss_at_start_kb_) + " kB when it started");
        if (!loader_fds_back(loader_fds))
            breach(Violation::loader_memory, "loader holds " + std::to_string(loader_fds) + " fds, " +
                                                 std::to_string(loader_fds_at_start_) + " when it started");
        if (liteipc_mapping_count() != mappings_at_start_ || open_fd_count() != fds_at_start_)
            breach(Violation::client_resources, "driver: " + std::to_string(liteipc_mapping_count()) + " mappings, " +
                                                    std::to_string(open_fd_count()) + " fds; at start " +
                                                    std::to_string(mappings_at_start_) + ", " + std::to_string(fds_at_start_));
    }

    void summarize() {
        std::printf("chaos: load held %ld s: %llu calls replied, %llu ended dead_object, %llu timed_out; "
                    "%llu oneway messages sent\n",
                    seconds_, (unsigned long long)calls_replied_, (unsigned long long)calls_dead_,
                    (unsigned long long)calls_timed_out_, (unsigned long long)oneway_sent_);
        std::printf("chaos: faults: %u service kills, %u client kills, %u SIGSTOPs, %u loader SIGKILLs; "
                    "%u service and %u client incarnations\n",
                    kills_[1], kills_[0], stops_, loader_restarts_, started_[1], started_[0]);
        std::printf("chaos: checked %llu oneway messages on live connections, %u death subscriptions, %zu deaths "
                    "seen by the driver, %zu connect timeouts; slowest late call %llu ms; loader RSS %ld kB (%ld kB when it started)\n",
                    (unsigned long long)oneway_checked_, subscriptions_checked_, dead_.size(),
                    connect_timeouts_.size(), (unsigned long long)(worst_call_ns_ / 1'000'000), loader_rss_kb_, loader_rss_at_start_kb_);
        for (auto& [v, list] : breaches_) {
            std::printf("chaos: BROKEN (%zu): %s\n", list.size(), violation_name(v));
            for (std::size_t i = 0; i < list.size() && i < 5; ++i) std::printf("    %s\n", list[i].c_str());
        }
        if (breaches_.empty()) std::printf("chaos: every invariant held\n");
        std::fflush(stdout);
        for (auto& [v, list] : breaches_)
            ADD_FAILURE() << violation_name(v) << ": " << list.size() << " times, first: " << list.front();
    }

    static std::string hex(uint64_t v) {
        char text[24];
        std::snprintf(text, sizeof text, "%llx", (unsigned long long)v);
        return text;
    }

    const long seconds_;
    const uint32_t seed_;
    std::mt19937 random_;
    Loader loader_;
    std::optional<Context> context_;
    std::unique_ptr<ChaosPeer> services_[kServices], clients_[kClients];
    std::vector<std::unique_ptr<ChaosPeer>> dead_;
    std::vector<Outage> outages_;

    struct ConnectTimeout { std::string client; uint64_t service, started_ns, ended_ns; };
    struct OnewayTally { uint64_t service, service_pid, key, sent; };
    struct SubscriptionTally { std::string client; uint32_t pid; uint64_t generation, notices; };
    struct Resources { uint64_t connections, fds, mappings, fds_at_start, mappings_at_start; };
    std::vector<ConnectTimeout> connect_timeouts_;
    std::vector<OnewayTally> oneway_tallies_;
    std::vector<SubscriptionTally> subscription_tallies_;
    std::map<uint64_t, std::map<uint64_t, uint64_t>> received_;  // service -> sender key -> count
    std::map<std::string, Resources> resources_;
    std::map<Violation, std::vector<std::string>> breaches_;
    std::size_t answers_ = 0;

    uint64_t calls_replied_ = 0, calls_dead_ = 0, calls_timed_out_ = 0, oneway_sent_ = 0, oneway_checked_ = 0;
    uint64_t worst_call_ns_ = 0, load_ended_ns_ = 0;
    unsigned kills_[2] = {}, started_[2] = {}, stops_ = 0, loader_restarts_ = 0, subscriptions_checked_ = 0;
    std::map<std::string, long> entries_at_start_;
    long alive_at_start_ = 0, loader_rss_kb_ = 0, loader_rss_at_start_kb_ = 0;
    HugetlbHoldings hugepages_at_start_;
    int loader_fds_at_start_ = 0, mappings_at_start_ = 0, fds_at_start_ = 0;
};

TEST(Chaos, EveryInvariantHoldsWhileProcessesAndTheLoaderAreKilledUnderLoad) {
    LITEIPC_REQUIRE_SYSTEM();
    Chaos chaos;
    chaos.run();
}

}  // namespace
}  // namespace liteipc::testing
