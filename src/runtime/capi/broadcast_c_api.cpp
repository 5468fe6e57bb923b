// The Broadcast-shaped C API (liteipc/broadcast.h) over Publisher and Subscriber.
#include "liteipc/broadcast.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "capi/ipc_context.h"
#include "capi/liteipc_requests.h"
#include "liteipc/topic.h"

namespace liteipc::capi {
namespace {

using namespace std::chrono_literals;

bool same_consumer(const LiteIpcConsumer* a, const LiteIpcConsumer* b) {
    if (a == b) return true;
    return a && b && a->Equal && a->Equal(a, b);
}

// The sample whose consumers the reader thread is notifying: what LiteIpcBroadcastGetPublisher reads.
thread_local const ReceivedSample* t_notifying = nullptr;

// One subscribed topic: its consumers and the thread that takes samples and notifies them.
struct TopicReaderThread {
    std::string topic;
    std::shared_ptr<IpcContext> context;
    std::mutex mutex;  // guards consumers
    std::vector<LiteIpcConsumer*> consumers;
    std::optional<Subscriber> subscriber;
    std::atomic<bool> stopping{false};
    std::thread thread;

    void run() {
        while (!stopping.load()) {
            if (!subscriber) {  // the publisher is gone: look for a new one
                auto again = Subscriber::open(context->context, topic);
                if (again) subscriber.emplace(std::move(*again));
                else std::this_thread::sleep_for(100ms);
                continue;
            }
            auto sample = subscriber->take(100ms);
            if (!sample) {
                if (sample.error().code == Errc::dead_object) subscriber.reset();
                continue;
            }
            std::vector<LiteIpcConsumer*> now;
            {
                std::lock_guard lock(mutex);
                now = consumers;
            }
            const auto bytes = sample->data();
            t_notifying = &*sample;
            for (LiteIpcConsumer* consumer : now)
                if (consumer->Notify)
                    consumer->Notify(consumer, topic.c_str(), reinterpret_cast<const uint8_t*>(bytes.data()),
                                     static_cast<uint32_t>(bytes.size()));
            t_notifying = nullptr;
        }
    }
};

std::mutex g_mutex;
std::map<std::string, Publisher> g_publishers;
std::map<std::string, std::unique_ptr<TopicReaderThread>> g_readers;

void stop(std::unique_ptr<TopicReaderThread> reader) {
    reader->stopping = true;
    if (reader->thread.joinable()) reader->thread.join();
}

}  // namespace
}  // namespace liteipc::capi

using namespace liteipc;
using namespace liteipc::capi;

extern "C" {

int32_t LiteIpcBroadcastAddTopic(const char* topic, uint32_t maxLen, uint32_t policy) {
    LiteIpcTopicOptions options{};
    options.size = sizeof options;
    options.maxLen = maxLen;
    options.policy = policy;
    return LiteIpcBroadcastAddTopicWithOptions(topic, &options);
}

int32_t LiteIpcBroadcastAddTopicWithOptions(const char* topic, const LiteIpcTopicOptions* given) {
    constexpr const char* what = "LiteIpcBroadcastAddTopicWithOptions";
    if (!topic || !given || given->size < offsetof(LiteIpcTopicOptions, uidMin))
        return invalid(what, "need a topic and options whose size covers at least maxLen and policy");
    // What the caller's build of the struct has; the rest reads as zero.
    LiteIpcTopicOptions options{};
    std::memcpy(&options, given, std::min<std::size_t>(given->size, sizeof options));
    if (options.maxLen == 0 || options.policy > LITEIPC_POLICY_PIDS)
        return invalid(what, "need maxLen > 0 and a LiteIpcPolicy for subscribers");
    if (options.mediated > 1) return invalid(what, "mediated is 0 or 1");
    if (options.publisherPolicy > LITEIPC_POLICY_PIDS)
        return invalid(what, "publisherPolicy must be a LiteIpcPolicy");
    auto context = acquire(nullptr);
    if (!context) return no_context(what);
    std::lock_guard lock(g_mutex);
    if (g_publishers.contains(topic)) return LITEIPC_EEXIST;
    auto publisher = Publisher::create(context->context, {.name = topic,
                                                          .subscriber_policy = static_cast<Policy>(options.policy),
                                                          .uid_min = options.uidMin,
                                                          .uid_max = options.uidMax,
                                                          .publisher_policy = static_cast<Policy>(options.publisherPolicy),
                                                          .publisher_uid_min = options.publisherUidMin,
                                                          .publisher_uid_max = options.publisherUidMax,
                                                          .sample_size = options.maxLen,
                                                          .mediated = options.mediated != 0});
    if (!publisher) return report(what, publisher.error());
    g_publishers.emplace(topic, std::move(*publisher));
    return LITEIPC_OK;
}

bool LiteIpcBroadcastGetPublisher(uint32_t* pid, uint32_t* uid) {
    if (!pid || !uid || !t_notifying || !t_notifying->stamped()) return false;
    *pid = t_notifying->publisher_pid();
    *uid = t_notifying->publisher_uid();
    return true;
}

bool LiteIpcBroadcastPublish(const char* topic, const uint8_t* data, uint32_t len) {
    if (!topic || (!data && len > 0)) return invalid("LiteIpcBroadcastPublish", "need a topic and data") == LITEIPC_OK;
    std::lock_guard lock(g_mutex);
    auto it = g_publishers.find(topic);
    if (it == g_publishers.end()) return invalid("LiteIpcBroadcastPublish", "not a topic of this process") == LITEIPC_OK;
    auto published = it->second.publish_copy(std::span(reinterpret_cast<const std::byte*>(data), len));
    if (!published) report("LiteIpcBroadcastPublish", published.error());
    return published.has_value();
}

int32_t LiteIpcBroadcastRemoveTopic(const char* topic) {
    if (!topic) return invalid("LiteIpcBroadcastRemoveTopic", "need a topic");
    std::lock_guard lock(g_mutex);
    return g_publishers.erase(topic) ? LITEIPC_OK : LITEIPC_ENOENT;
}

int32_t LiteIpcBroadcastSubscribe(const char* topic, LiteIpcConsumer* consumer) {
    if (!topic || !consumer) return invalid("LiteIpcBroadcastSubscribe", "need a topic and a consumer");
    std::lock_guard lock(g_mutex);
    auto it = g_readers.find(topic);
    if (it == g_readers.end()) {
        auto context = acquire(nullptr);
        if (!context) return no_context("LiteIpcBroadcastSubscribe");
        auto subscriber = Subscriber::open(context->context, topic);
        if (!subscriber) return report("LiteIpcBroadcastSubscribe", subscriber.error());
        auto reader = std::make_unique<TopicReaderThread>();
        reader->topic = topic;
        reader->context = context;
        reader->subscriber.emplace(std::move(*subscriber));
        reader->consumers.push_back(consumer);
        TopicReaderThread* raw = reader.get();
        reader->thread = std::thread([raw] { raw->run(); });
        g_readers.emplace(topic, std::move(reader));
        return LITEIPC_OK;
    }
    std::lock_guard consumers(it->second->mutex);
    auto& list = it->second->consumers;
    if (std::none_of(list.begin(), list.end(), [&](auto* c) { return same_consumer(c, consumer); }))
        list.push_back(consumer);
    return LITEIPC_OK;
}

LiteIpcConsumer* LiteIpcBroadcastModifyConsumer(const char* topic, LiteIpcConsumer* oldConsumer,
                                                LiteIpcConsumer* newConsumer) {
    if (!topic || !oldConsumer || !newConsumer) return nullptr;
    std::lock_guard lock(g_mutex);
    auto it = g_readers.find(topic);
    if (it == g_readers.end()) return nullptr;
    std::lock_guard consumers(it->second->mutex);
    for (auto*& c : it->second->consumers)
        if (same_consumer(c, oldConsumer)) return std::exchange(c, newConsumer);
    return nullptr;
}

LiteIpcConsumer* LiteIpcBroadcastUnsubscribe(const char* topic, const LiteIpcConsumer* consumer) {
    if (!topic || !consumer) return nullptr;
    std::unique_ptr<TopicReaderThread> ending;
    LiteIpcConsumer* removed = nullptr;
    {
        std::lock_guard lock(g_mutex);
        auto it = g_readers.find(topic);
        if (it == g_readers.end()) return nullptr;
        {
            std::lock_guard consumers(it->second->mutex);
            auto& list = it->second->consumers;
            auto found = std::find_if(list.begin(), list.end(), [&](auto* c) { return same_consumer(c, consumer); });
            if (found == list.end()) return nullptr;
            removed = *found;
            list.erase(found);
            if (!list.empty()) return removed;
        }
        ending = std::move(it->second);
        g_readers.erase(it);
    }
    stop(std::move(ending));  // outside the lock: a Notify running now may call these functions
    return removed;
}

}  // extern "C"
