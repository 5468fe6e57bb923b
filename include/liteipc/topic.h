// Publish/subscribe: one publisher writes a sample once, in place, and every subscriber reads those
// very bytes through a read-only mapping of the publisher's pool.
//
//   auto publisher = liteipc::Publisher::create(context, {.name = "demo.temperature", .sample_size = 64});
//   auto sample = publisher->loan();             // a free slot of the pool, written in place
//   std::memcpy(sample->data().data(), &reading, sizeof reading);
//   publisher->publish(*sample, sizeof reading);
//
//   auto subscriber = liteipc::Subscriber::open(context, "demo.temperature", {.depth = 8});
//   auto received = subscriber->take(100ms);     // ReceivedSample: data() is the publisher's bytes
//
// A topic is a service name: registered under the loader's name policy and the topic's publisher
// policy (who may publish), with a subscriber policy the kernel checks at subscribe (a subscribe is
// a connect to the topic; the kernel also checks that the topic's holder is an admitted publisher). Each subscription has its own queue of `depth` samples and a slow-reader policy: keep the
// latest (the oldest is dropped and counted) or block the publisher up to its deadline. A sample is
// reused only once every subscriber it reached has released it; a subscriber that dies releases
// everything at once (the kernel reports the death). The publisher's death ends every
// subscription with one notice (on_publisher_death); resubscribe() finds a restarted publisher.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "liteipc/context.h"
#include "liteipc/export.h"
#include "liteipc/ipc.h"

namespace liteipc {

struct TopicOptions {
    std::string name;  // a service name: 1..255 printable bytes, no '/', '"' or backslash
    Policy subscriber_policy = Policy::same_uid;  // who may subscribe, checked by the kernel
    uint32_t uid_min = 0, uid_max = 0;            // Policy::uid_range
    // Who may publish: a topic has one publisher at a time, so this says who may register its name
    // (under the name policy too), now and after this publisher is gone. The first publisher sets
    // it; the topic keeps it while any process that subscribed lives, and a later publisher must
    // ask for the same. This publisher's uid is always admitted (same_uid: only it). Checked by the
    // loader at registration and by the kernel at every subscribe.
    Policy publisher_policy = Policy::same_uid;
    uint32_t publisher_uid_min = 0, publisher_uid_max = 0;  // Policy::uid_range
    uint64_t sample_size = 4096;  // the largest sample
    // Slots in the pool. Each subscription reserves depth + max_held of them, the history and the
    // loans the rest: a subscribe that does not fit fails with Errc::no_memory.
    uint32_t sample_count = 256;
    uint32_t history = 0;    // samples kept for late joiners (SubscribeOptions::history)
    uint32_t max_loans = 2;  // samples loaned and not yet published at once
    // Every publish passes the kernel's send program, once per subscriber: it checks the sample lies
    // in this publisher's pool and stamps the publisher's pid and uid, which the subscriber reads
    // from a ring only the kernel writes (ReceivedSample::publisher_pid). A subscriber takes no
    // sample without its stamp. Costs one BPF_PROG_RUN per subscriber per publish; a subscription's
    // depth is at most 512.
    bool mediated = false;
};

struct TopicStats {
    uint32_t subscribers = 0;
    uint32_t samples_in_use = 0;  // loaned, queued, held by a subscriber or kept as history
    uint32_t sample_count = 0;
    uint64_t published = 0;
    uint64_t dropped = 0;              // queued samples taken back from latest-N subscribers
    uint64_t dropped_subscribers = 0;  // subscribers cut off for writing nonsense into their region
    bool hugepages = false;            // the pool is on 2 MiB pages
    uint64_t unstamped = 0;  // mediated: samples a subscriber missed, the kernel did not stamp them (in dropped too)
};

class Publisher;

// A sample loaned from the publisher's pool: write it in place, then Publisher::publish it.
// Destroyed unpublished, it goes back to the pool. Thread safety: one thread at a time.
class LITEIPC_API Sample {
public:
    Sample();
    Sample(Sample&&) noexcept;
    Sample& operator=(Sample&&) noexcept;
    ~Sample();
    std::span<std::byte> data() const;  // TopicOptions::sample_size bytes
    explicit operator bool() const;
    struct LITEIPC_HIDDEN Impl;

private:
    friend class Publisher;
    std::unique_ptr<Impl> impl_;
};

// Thread safety: loan and publish from one thread at a time; stats from any.
class LITEIPC_API Publisher {
public:
    static Result<Publisher> create(Context& context, TopicOptions options);
    Publisher(Publisher&&) noexcept;
    Publisher& operator=(Publisher&&) noexcept;
    ~Publisher();  // withdraws the topic: each subscriber gets its notice once

    // A free sample. Waits for releases only past what the subscriptions reserved (a dishonest
    // subscriber); `timeout` 0: the context's default. Errc::no_memory when none came.
    Result<Sample> loan(std::chrono::milliseconds timeout = {});
    // Delivers the first `size` bytes of `sample` to every subscriber and wakes the ones that sleep;
    // `sample` is empty afterwards. A blocking subscriber's full queue waits until `timeout`, then
    // Errc::timed_out: nobody got the sample and it stays loaned (publish it again, or drop it).
    Result<uint64_t> publish(Sample& sample, uint64_t size, std::chrono::milliseconds timeout = {});
    // loan + copy + publish, for small samples.
    Result<uint64_t> publish_copy(std::span<const std::byte> bytes, std::chrono::milliseconds timeout = {});

    Result<> allow_uid(uint32_t uid);  // who may subscribe: for Policy::uid_list
    Result<> allow_pid(uint32_t pid);
    // Who else may publish (publisher_policy uid_list, or any policy for a pid): kept with the
    // topic, not with this publisher, until the topic goes. A pid must name a registered process.
    Result<> allow_publisher_uid(uint32_t uid);
    Result<> allow_publisher_pid(uint32_t pid);
    const std::string& name() const;
    uint32_t handle() const;
    TopicStats stats() const;
    struct LITEIPC_HIDDEN Impl;

private:
    LITEIPC_HIDDEN explicit Publisher(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

enum class Overflow : uint32_t {
    keep_latest = 0,      // a full queue drops its oldest sample (counted in Subscriber::dropped)
    block_publisher = 1,  // a full queue makes publish wait, up to the publisher's deadline
};

struct SubscribeOptions {
    uint32_t depth = 16;    // samples queued for this subscriber
    uint32_t max_held = 4;  // samples taken and not yet released at once
    Overflow overflow = Overflow::keep_latest;
    uint32_t history = 0;   // ask for up to this many of the last samples published before we came
    std::chrono::nanoseconds spin = std::chrono::microseconds(10);  // take() polls this long, then sleeps
    std::chrono::milliseconds timeout{0};  // for subscribing; 0: the context's default
};

class Subscriber;

// A sample read in place in the publisher's pool (read-only). Destroying it releases it.
// Thread safety: one thread at a time; it may be destroyed on any thread.
class LITEIPC_API ReceivedSample {
public:
    ReceivedSample();
    ReceivedSample(ReceivedSample&&) noexcept;
    ReceivedSample& operator=(ReceivedSample&&) noexcept;
    ~ReceivedSample();
    std::span<const std::byte> data() const;
    uint64_t sequence() const;    // 1, 2, ... per topic: a gap is a sample dropped or missed
    uint64_t publish_ns() const;  // CLOCK_MONOTONIC when it was published (the publisher's word)
    // A mediated topic's sample: who published it, as the kernel saw the publish. Without a stamp
    // (a topic that is not mediated) stamped() is false and both are 0.
    bool stamped() const;
    uint32_t publisher_pid() const;
    uint32_t publisher_uid() const;
    explicit operator bool() const;
    struct LITEIPC_HIDDEN Impl;

private:
    friend class Subscriber;
    std::unique_ptr<Impl> impl_;
};

// Thread safety: take from one thread at a time; ReceivedSamples may be released from any.
class LITEIPC_API Subscriber {
public:
    // Connects to the topic (the kernel checks its subscriber policy) and subscribes.
    static Result<Subscriber> open(Context& context, std::string_view topic, SubscribeOptions options = {});
    Subscriber(Subscriber&&) noexcept;
    Subscriber& operator=(Subscriber&&) noexcept;
    ~Subscriber();  // unsubscribes

    // The oldest queued sample, waiting up to `timeout` (0: the context's default). Errc::timed_out
    // when none came; Errc::dead_object once the publisher is gone and the queue is empty;
    // Errc::no_memory while max_held samples are out.
    Result<ReceivedSample> take(std::chrono::milliseconds timeout = {});
    // The same without waiting: an empty ReceivedSample when the queue is empty.
    Result<ReceivedSample> try_take();

    // A descriptor for poll/epoll: call arm() before waiting on it; it becomes readable at the next
    // publish or at the publisher's end. arm() returns false when samples are queued already (take
    // them instead of waiting). take()/try_take() drain it.
    int wake_fd() const;
    bool arm();

    // Calls `callback` once, on the context's inbox thread, when the publisher dies or withdraws the
    // topic; if it has already, at once on this thread.
    Result<DeathSubscription> on_publisher_death(DeathCallback callback);
    bool publisher_alive() const;
    // Subscribes again by name, with the same options: after the publisher's death, finds the new one.
    Result<> resubscribe(Context& context);

    uint64_t dropped() const;  // samples dropped from this queue under Overflow::keep_latest
    // A mediated topic's samples this subscriber refused: queued without the kernel's stamp, or
    // unlike it (each also makes a log line). 0 for a topic that is not mediated.
    uint64_t refused() const;
    const std::string& topic() const;
    struct LITEIPC_HIDDEN Impl;

private:
    LITEIPC_HIDDEN explicit Subscriber(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace liteipc
