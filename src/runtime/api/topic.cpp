// Publisher and Subscriber over what services already have. A topic is a service of Mode::topic: its
// name comes from the name policy, and a subscriber's connect is checked, stamped and death-watched
// by the kernel like any client's. Over that connection one call subscribes: the subscriber hands the
// publisher the sending end of its wake socket, and gets the pool and its queue (read-only) and its
// reader region back. Samples then never pass the connection: they are indices in shared memory
// (transport/topic_fanout.h for the publisher, transport/topic_reader.h for the subscriber).
#include "liteipc/topic.h"

#include <sys/socket.h>

#include <cstring>
#include <map>
#include <mutex>
#include <optional>

#include "api/context_impl.h"
#include "common/log.h"
#include "common/mapping.h"
#include "transport/topic_fanout.h"
#include "transport/topic_reader.h"

namespace liteipc {

namespace {

std::chrono::milliseconds or_default(std::chrono::milliseconds timeout, const Context::Impl& context) {
    return timeout.count() > 0 ? timeout : context.options.default_timeout;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Publisher

struct Publisher::Impl : std::enable_shared_from_this<Publisher::Impl> {
    std::shared_ptr<Context::Impl> context;
    TopicOptions options;
    std::unique_ptr<detail::TopicFanout> fanout;
    std::mutex mutex;  // guards deaths
    std::map<uint64_t, DeathSubscription> deaths;  // subscription id -> the kernel's watch on its subscriber
    std::multimap<uint64_t, std::pair<uint64_t, PeerId>> by_connection;  // conn id -> subscription id, subscriber
    std::optional<Service> service;  // reset (its workers joined) before the fanout goes

    int32_t serve(Call& call) {
        Reader& in = call.request();
        if (call.code() == detail::kTopicUnsubscribeCode) {
            const uint64_t id = in.read_uint64();
            if (in.ok() && fanout->unsubscribe(id, call.caller().peer)) {
                std::lock_guard lock(mutex);
                deaths.erase(id);
            }
            return 0;
        }
        if (call.code() != detail::kTopicSubscribeCode) return -static_cast<int32_t>(Errc::unknown_method);
        const uint32_t version = in.read_uint32();
        detail::SubscriptionRequest request;
        request.depth = in.read_uint32();
        request.max_held = in.read_uint32();
        const uint32_t overflow = in.read_uint32();
        request.history = in.read_uint32();
        request.wake_socket = detail::UniqueFd(in.take_fd());
        request.block = overflow == static_cast<uint32_t>(Overflow::block_publisher);
        request.peer = call.caller().peer;
        if (options.mediated) request.stamps.emplace(context->kernel(), call.caller().connection);
        if (!in.ok() || version != detail::kTopicVersion || overflow > 1) {
            call.reply().write_string("malformed subscribe request");
            return -static_cast<int32_t>(Errc::malformed);
        }
        int wake_type = 0;
        socklen_t length = sizeof wake_type;
        if (::getsockopt(request.wake_socket.get(), SOL_SOCKET, SO_TYPE, &wake_type, &length) != 0 ||
            wake_type != SOCK_SEQPACKET) {
            call.reply().write_string("the wake descriptor is not a SOCK_SEQPACKET socket");
            return -static_cast<int32_t>(Errc::invalid_argument);
        }
        const PeerId peer = request.peer;
        auto grant = fanout->subscribe(std::move(request));
        if (!grant) {
            call.reply().write_string(grant.error().message);
            return -static_cast<int32_t>(grant.error().code);
        }
        // The subscriber's death, as the kernel reports it, releases what it held at once.
        std::weak_ptr<Impl> weak = weak_from_this();
        const uint64_t id = grant->id;
        auto death = context->on_death(peer, [weak, id, peer](const DeathNotice&) {
            if (auto self = weak.lock()) {
                self->fanout->unsubscribe(id, peer);
                std::lock_guard lock(self->mutex);
                self->deaths.erase(id);
            }
        });
        if (!death) {
            fanout->unsubscribe(id, peer);
            call.reply().write_string(death.error().message);
            return -static_cast<int32_t>(death.error().code);
        }
        {
            std::lock_guard lock(mutex);
            if (fanout->has_subscription(id)) {
                deaths[id] = std::move(*death);
                by_connection.emplace(call.caller().connection, std::make_pair(id, peer));
            }
        }
        Writer& out = call.reply();
        out.write_uint64(grant->id);
        out.write_fd(grant->pool_fd);
        out.write_fd(grant->queue_fd);
        out.write_fd(grant->reader_fd);
        return 0;
    }

    // The connection a subscription came over ended without an unsubscribe (its socket closed, or
    // its process went): what the subscription held comes back, as after an unsubscribe.
    void connection_ended(uint64_t conn_id) {
        std::vector<std::pair<uint64_t, PeerId>> ended;
        {
            std::lock_guard lock(mutex);
            auto [first, last] = by_connection.equal_range(conn_id);
            for (auto it = first; it != last; ++it) ended.push_back(it->second);
            by_connection.erase(first, last);
        }
        for (const auto& [id, peer] : ended) {
            fanout->unsubscribe(id, peer);
            DeathSubscription watch;  // ends outside the lock
            std::lock_guard lock(mutex);
            if (auto it = deaths.find(id); it != deaths.end()) {
                watch = std::move(it->second);
                deaths.erase(it);
            }
        }
    }
};

struct Sample::Impl {
    std::shared_ptr<Publisher::Impl> publisher;
    uint32_t index = 0;
    std::span<std::byte> bytes;
    ~Impl() {
        if (publisher) publisher->fanout->give_back(index);  // the fanout lives as long as its Publisher::Impl
    }
};

Sample::Sample() = default;
Sample::Sample(Sample&&) noexcept = default;
Sample& Sample::operator=(Sample&&) noexcept = default;
Sample::~Sample() = default;
std::span<std::byte> Sample::data() const { return impl_ ? impl_->bytes : std::span<std::byte>{}; }
Sample::operator bool() const { return impl_ != nullptr; }

Publisher::Publisher(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Publisher::Publisher(Publisher&&) noexcept = default;
Publisher& Publisher::operator=(Publisher&&) noexcept = default;
Publisher::~Publisher() {
    if (!impl_) return;
    // Stop taking subscriptions, then tell the subscribers (the service's withdrawal reaches their
    // connections too: each gets its one notice from whichever comes first).
    impl_->service.reset();
    impl_->fanout->close();  // samples still loaned or held stay valid until they are given back
}

Result<Publisher> Publisher::create(Context& context, TopicOptions options) {
    auto impl = std::make_shared<Impl>();
    impl->context = context.impl().shared_from_this();
    impl->options = options;
    detail::FanoutOptions fanout_options;
    fanout_options.sample_size = options.sample_size;
    fanout_options.sample_count = options.sample_count;
    fanout_options.history = options.history;
    fanout_options.max_loans = options.max_loans;
    auto fanout = detail::TopicFanout::create(options.name, fanout_options);
    if (!fanout) return std::unexpected(fanout.error());
    impl->fanout = std::move(*fanout);
    // One worker, no spinning: the service only answers subscribes; samples never pass it.
    ServiceOptions service_options;
    service_options.name = options.name;
    service_options.policy = options.subscriber_policy;
    service_options.uid_min = options.uid_min;
    service_options.uid_max = options.uid_max;
    service_options.workers = 1;
    service_options.reply_pool_bytes = 64 * 1024;
    service_options.spin = std::chrono::nanoseconds(0);
    service_options.mode = options.mediated ? Mode::mediated_topic : Mode::topic;
    std::weak_ptr<Impl> weak = impl;
    const Service::TopicRegistration publishers{options.publisher_policy, options.publisher_uid_min,
                                                options.publisher_uid_max, [weak](uint64_t conn_id) {
                                                    if (auto self = weak.lock()) self->connection_ended(conn_id);
                                                },
                                                impl->fanout->slot_bytes(), options.sample_count};
    auto service = Service::start(context, service_options, [weak](Call& call) -> int32_t {
        auto self = weak.lock();
        return self ? self->serve(call) : -static_cast<int32_t>(Errc::closed);
    }, &publishers);
    if (!service) return std::unexpected(service.error());
    impl->service.emplace(std::move(*service));
    return Publisher(std::move(impl));
}

Result<Sample> Publisher::loan(std::chrono::milliseconds timeout) {
    auto index = impl_->fanout->loan(detail::Deadline::after(or_default(timeout, *impl_->context)));
    if (!index) return std::unexpected(index.error());
    Sample sample;
    sample.impl_ = std::make_unique<Sample::Impl>();
    sample.impl_->publisher = impl_;
    sample.impl_->index = *index;
    sample.impl_->bytes = impl_->fanout->sample_bytes(*index);
    return sample;
}

Result<uint64_t> Publisher::publish(Sample& sample, uint64_t size, std::chrono::milliseconds timeout) {
    if (!sample.impl_ || sample.impl_->publisher != impl_)
        return fail(Errc::invalid_argument, "publish: the sample is empty or loaned by another publisher");
    auto sequence = impl_->fanout->publish(sample.impl_->index, size,
                                           detail::Deadline::after(or_default(timeout, *impl_->context)));
    if (!sequence) return std::unexpected(sequence.error());
    sample.impl_->publisher.reset();  // the loan became the subscribers' references
    sample.impl_.reset();
    return sequence;
}

Result<uint64_t> Publisher::publish_copy(std::span<const std::byte> bytes, std::chrono::milliseconds timeout) {
    if (bytes.size() > impl_->options.sample_size)
        return fail(Errc::invalid_argument, "publish: " + std::to_string(bytes.size()) + " bytes exceed the topic's sample_size");
    auto sample = loan(timeout);
    if (!sample) return std::unexpected(sample.error());
    std::memcpy(sample->data().data(), bytes.data(), bytes.size());
    return publish(*sample, bytes.size(), timeout);
}

Result<> Publisher::allow_uid(uint32_t uid) { return impl_->service->allow_uid(uid); }
Result<> Publisher::allow_pid(uint32_t pid) { return impl_->service->allow_pid(pid); }
Result<> Publisher::allow_publisher_uid(uint32_t uid) {
    return impl_->service->allow_publisher(false, uid);
}
Result<> Publisher::allow_publisher_pid(uint32_t pid) {
    return impl_->service->allow_publisher(true, pid);
}
const std::string& Publisher::name() const { return impl_->options.name; }
uint32_t Publisher::handle() const { return impl_->service->handle(); }

TopicStats Publisher::stats() const {
    const detail::FanoutStats s = impl_->fanout->stats();
    return TopicStats{s.subscribers, s.samples_in_use, s.sample_count, s.published, s.dropped,
                      s.dropped_subscribers, s.hugepages, s.unstamped};
}

}  // namespace liteipc
