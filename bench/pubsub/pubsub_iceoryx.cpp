// Peer: iceoryx 2.0 publish/subscribe (iox::popo::UntypedPublisher / UntypedSubscriber), zero copy,
// the API its users use: the publisher loans a chunk and fills it, subscribers read it in place.
// Blocking policies (WAIT_FOR_CONSUMER, BLOCK_PRODUCER) as liteipc's block_publisher; subscribers
// sleep in a WaitSet. The run starts its own RouDi with mempools for these cells and stops it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "iceoryx_hoofs/log/logmanager.hpp"
#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_subscriber.hpp"
#include "iceoryx_posh/popo/wait_set.hpp"
#include "iceoryx_posh/runtime/posh_runtime.hpp"
#include "pubsub_peers.h"
#include "sys.h"

#ifndef LIPC_BENCH_IOX_ROUDI
#define LIPC_BENCH_IOX_ROUDI "/usr/bin/iox-roudi"
#endif

namespace liteipc::bench {
namespace {

uint64_t queue_for(std::size_t size) { return size >= (1u << 20) ? 4 : 16; }

iox::capro::ServiceDescription service_for(const std::string& topic) {
    return {iox::capro::IdString_t(iox::cxx::TruncateToCapacity, "pubsub_bench"),
            iox::capro::IdString_t(iox::cxx::TruncateToCapacity, "cell"),
            iox::capro::IdString_t(iox::cxx::TruncateToCapacity, topic.c_str())};
}

void init_runtime(const std::string& topic, const char* side) {
    iox::log::LogManager::GetLogManager().SetDefaultLogLevel(iox::log::LogLevel::kWarn,
                                                             iox::log::LogLevelOutput::kHideLogLevel);
    const std::string name = "pubsub-" + std::string(side) + "-" + std::to_string(::getpid());
    iox::runtime::PoshRuntime::initRuntime(iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name.c_str()));
    (void)topic;
}

class IceoryxPublishing final : public Publishing {
public:
    explicit IceoryxPublishing(iox::popo::UntypedPublisher& publisher) : publisher_(publisher) {}
    std::byte* loan(std::size_t size) override {
        std::byte* chunk = nullptr;
        publisher_.loan(static_cast<uint32_t>(size)).and_then([&](void* p) { chunk = static_cast<std::byte*>(p); });
        return chunk;
    }
    bool publish(std::byte* sample, std::size_t) override {
        publisher_.publish(sample);
        return true;
    }

private:
    iox::popo::UntypedPublisher& publisher_;
};

class IceoryxReceiving final : public Receiving {
public:
    // A WaitSet only for sleeping subscribers: once attached, every publish signals it (a polling
    // iceoryx user does not attach one).
    IceoryxReceiving(iox::popo::UntypedSubscriber& subscriber, std::size_t size, Regime regime)
        : subscriber_(subscriber), size_(size) {
        if (regime != Regime::sleeping) return;
        waitset_.emplace();
        waitset_->attachState(subscriber_, iox::popo::SubscriberState::HAS_DATA).or_else([](auto) {
            std::fprintf(stderr, "iceoryx: cannot attach the subscriber to a WaitSet\n");
        });
    }
    const std::byte* take(std::size_t& size, std::chrono::milliseconds timeout) override {
        for (int tries = 0; tries < 2; ++tries) {
            const std::byte* got = nullptr;
            subscriber_.take().and_then([&](const void* p) { got = static_cast<const std::byte*>(p); });
            if (got) {
                size = size_;
                return got;
            }
            if (tries == 0 && waitset_) waitset_->timedWait(iox::units::Duration::fromMilliseconds(timeout.count()));
        }
        return nullptr;
    }
    const std::byte* try_take(std::size_t& size) override {
        const std::byte* got = nullptr;
        subscriber_.take().and_then([&](const void* p) { got = static_cast<const std::byte*>(p); });
        if (got) size = size_;
        return got;
    }
    void release(const std::byte* sample) override { subscriber_.release(sample); }

private:
    iox::popo::UntypedSubscriber& subscriber_;
    std::size_t size_;
    std::optional<iox::popo::WaitSet<>> waitset_;
};

class IceoryxPeer final : public PubSubPeer {
public:
    const char* name() const override { return "iceoryx"; }

    std::string open() override {
        if (::access(LIPC_BENCH_IOX_ROUDI, X_OK) != 0) return "no RouDi at " LIPC_BENCH_IOX_ROUDI " (apt install iceoryx)";
        const std::string stem = "/tmp/pubsub_bench-roudi-" + std::to_string(::getpid());
        config_ = stem + ".toml";
        log_ = stem + ".log";
        {
            // Chunks for every queue and held sample of 16 subscribers, plus the publisher's loans.
            std::ofstream cfg(config_);
            cfg << "[general]\nversion = 1\n\n[[segment]]\n\n[[segment.mempool]]\nsize = 1024\ncount = 2048\n"
                   "\n[[segment.mempool]]\nsize = 1052672\ncount = 120\n";
        }
        roudi_ = spawn_logged(LIPC_BENCH_IOX_ROUDI, {"iox-roudi", "-c", config_, "-l", "info"}, log_,
                              LogMode::truncate, Lifetime::for_the_run);
        for (int i = 0; i < 1000; ++i) {
            std::ifstream in(log_);
            std::stringstream text;
            text << in.rdbuf();
            if (text.str().find("RouDi is ready for clients") != std::string::npos) return {};
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        close();
        return "iox-roudi not ready after 20 s (another RouDi running?)";
    }

    void close() override {
        if (roudi_ > 0) {
            ::kill(roudi_, SIGTERM);
            ::waitpid(roudi_, nullptr, 0);
            roudi_ = -1;
        }
        if (!config_.empty()) ::unlink(config_.c_str());
        if (!log_.empty()) ::unlink(log_.c_str());
    }

    int publish(SharedRun& run, const std::string& topic) const override {
        init_runtime(topic, "pub");
        iox::popo::PublisherOptions options;
        options.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
        iox::popo::UntypedPublisher publisher(service_for(topic), options);
        run.topic_up.store(1);
        while (run.ready.load() < run.subscribers) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        IceoryxPublishing out(publisher);
        return run_publisher(run, out);
    }

    int subscribe(SharedRun& run, const std::string& topic, uint32_t index) const override {
        while (run.topic_up.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        init_runtime(topic, "sub");
        iox::popo::SubscriberOptions options;
        options.queueCapacity = queue_for(run.size);
        options.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
        iox::popo::UntypedSubscriber subscriber(service_for(topic), options);
        while (subscriber.getSubscriptionState() != iox::SubscribeState::SUBSCRIBED)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        IceoryxReceiving in(subscriber, run.size, run.regime);
        run.ready.fetch_add(1);
        return run_subscriber(run, in, index);
    }

private:
    pid_t roudi_ = -1;
    std::string config_, log_;
};

}  // namespace

std::unique_ptr<PubSubPeer> make_iceoryx_peer() { return std::make_unique<IceoryxPeer>(); }

}  // namespace liteipc::bench
