// Subscriber and ReceivedSample (liteipc/topic.h); the publisher's side is topic.cpp.
#include <sys/socket.h>

#include <mutex>
#include <optional>

#include "api/context_impl.h"
#include "common/log.h"
#include "common/mapping.h"
#include "liteipc/topic.h"
#include "transport/topic_reader.h"

namespace liteipc {

struct Subscriber::Impl {
    std::shared_ptr<Context::Impl> context;
    std::string topic;
    SubscribeOptions options;
    std::optional<Connection> connection;
    std::shared_ptr<detail::TopicReader> shared_reader;  // the samples out share it
    detail::UniqueFd wake;  // our end of the wake socket
    uint64_t subscription = 0;
    bool armed = false;  // arm() asked the publisher for wake bytes

    // Connects (the kernel checks the topic's subscriber policy) and asks for a queue.
    Result<> subscribe(Context& ctx) {
        ConnectOptions connect;
        connect.request_pool_bytes = 64 * 1024;
        connect.slots = 4;
        connect.spin = std::chrono::nanoseconds(0);
        connect.timeout = options.timeout;
        auto opened = Connection::open(ctx, topic, connect);
        if (!opened) return std::unexpected(opened.error());
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0)
            return fail_errno("socketpair for a subscription's wake fd");
        detail::UniqueFd ours(pair[0]), theirs(pair[1]);
        Request request(*opened);
        Writer& out = request.writer();
        out.write_uint32(detail::kTopicVersion);
        out.write_uint32(options.depth);
        out.write_uint32(options.max_held);
        out.write_uint32(static_cast<uint32_t>(options.overflow));
        out.write_uint32(options.history);
        out.write_fd(theirs.get());
        auto reply = opened->call(detail::kTopicSubscribeCode, request, options.timeout);
        if (!reply) return std::unexpected(reply.error());
        Reader in = reply->reader();
        if (reply->status() != 0) {
            const std::string why(in.read_string_view());
            const int32_t code = -reply->status();
            if (code <= 0 || code > static_cast<int32_t>(Errc::unknown_method))
                return fail(Errc::malformed, "topic '" + topic + "' refused the subscription with status " +
                                                 std::to_string(reply->status()));
            return fail(static_cast<Errc>(code), "subscribe to topic '" + topic + "': " + why);
        }
        const uint64_t id = in.read_uint64();
        const int pool = in.read_fd(), queue = in.read_fd(), region = in.read_fd();
        if (!in.ok()) return fail(Errc::malformed, "topic '" + topic + "' sent a malformed subscription");
        auto attached = detail::TopicReader::attach(pool, queue, region, options.max_held);
        if (attached && (*attached)->subscription() != id)
            attached = fail(Errc::malformed, "topic '" + topic + "' sent another subscription's queue");
        // The loader, not the publisher, says the topic is mediated: its stamps are then required.
        if (attached && opened->sample_stamps_fd() >= 0) {
            auto stamps = detail::MessageRing::map(opened->sample_stamps_fd());
            if (stamps) (*attached)->expect_stamps(std::move(*stamps));
            else attached = std::unexpected(stamps.error());
        }
        if (!attached) {
            Request undo(*opened);  // give the publisher its reservation back
            undo.writer().write_uint64(id);
            (void)opened->send(detail::kTopicUnsubscribeCode, undo, std::chrono::milliseconds(500));
            return std::unexpected(attached.error());
        }
        connection.emplace(std::move(*opened));
        shared_reader = std::move(*attached);
        wake = std::move(ours);
        subscription = id;
        // The publisher's death (or withdrawal) ends the waits of this process at once.
        std::weak_ptr<detail::TopicReader> weak = shared_reader;
        auto watch = connection->on_death([weak](const DeathNotice&) {
            if (auto r = weak.lock()) r->interrupt();
        });
        if (!watch) return std::unexpected(watch.error());
        interrupt_watch = std::move(*watch);
        return {};
    }

    void unsubscribe() {
        if (!connection) return;
        if (connection->alive()) {
            Request request(*connection);
            request.writer().write_uint64(subscription);
            (void)connection->send(detail::kTopicUnsubscribeCode, request, std::chrono::milliseconds(500));
        }
        interrupt_watch.reset();
        connection.reset();
    }

    // A poller took over from arm(): stop the publisher's wake bytes, drop the ones sent. Costs nothing
    // (no syscall) when the wake fd was not armed.
    void disarm() {
        if (!armed) return;
        armed = false;
        shared_reader->disarm_socket();
        drain_wake();
    }

    void drain_wake() {
        char bytes[64];
        while (::recv(wake.get(), bytes, sizeof bytes, MSG_DONTWAIT) > 0) {
        }
    }

    DeathSubscription interrupt_watch;
};

struct ReceivedSample::Impl {
    std::shared_ptr<detail::TopicReader> reader;
    detail::TakenSample sample;
    ~Impl() { reader->release(sample.index); }
};

ReceivedSample::ReceivedSample() = default;
ReceivedSample::ReceivedSample(ReceivedSample&&) noexcept = default;
ReceivedSample& ReceivedSample::operator=(ReceivedSample&&) noexcept = default;
ReceivedSample::~ReceivedSample() = default;
std::span<const std::byte> ReceivedSample::data() const {
    return impl_ ? impl_->reader->bytes(impl_->sample) : std::span<const std::byte>{};
}
uint64_t ReceivedSample::sequence() const { return impl_ ? impl_->sample.sequence : 0; }
uint64_t ReceivedSample::publish_ns() const { return impl_ ? impl_->sample.publish_ns : 0; }
bool ReceivedSample::stamped() const { return impl_ && impl_->sample.stamped; }
uint32_t ReceivedSample::publisher_pid() const { return impl_ ? impl_->sample.publisher_pid : 0; }
uint32_t ReceivedSample::publisher_uid() const { return impl_ ? impl_->sample.publisher_uid : 0; }
ReceivedSample::operator bool() const { return impl_ != nullptr; }

Subscriber::Subscriber(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Subscriber::Subscriber(Subscriber&&) noexcept = default;
Subscriber& Subscriber::operator=(Subscriber&&) noexcept = default;
Subscriber::~Subscriber() {
    if (impl_) impl_->unsubscribe();
}

Result<Subscriber> Subscriber::open(Context& context, std::string_view topic, SubscribeOptions options) {
    auto impl = std::make_shared<Impl>();
    impl->context = context.impl().shared_from_this();
    impl->topic = std::string(topic);
    impl->options = options;
    if (auto subscribed = impl->subscribe(context); !subscribed) return std::unexpected(subscribed.error());
    return Subscriber(std::move(impl));
}

Result<ReceivedSample> Subscriber::try_take() {
    impl_->disarm();
    auto taken = impl_->shared_reader->try_take();
    if (!taken) return std::unexpected(taken.error());
    ReceivedSample received;
    if (*taken) {
        received.impl_ = std::make_unique<ReceivedSample::Impl>();
        received.impl_->reader = impl_->shared_reader;
        received.impl_->sample = **taken;
    }
    return received;
}

Result<ReceivedSample> Subscriber::take(std::chrono::milliseconds timeout) {
    const auto deadline = detail::Deadline::after(timeout.count() > 0 ? timeout : impl_->context->options.default_timeout);
    impl_->disarm();
    for (;;) {
        auto received = try_take();
        if (!received || *received) return received;
        detail::TopicReader& reader = *impl_->shared_reader;
        if (reader.publisher_closed() || reader.interrupted() || !impl_->connection->alive())
            return fail(Errc::dead_object, "the publisher of topic '" + impl_->topic + "' is gone");
        if (deadline.expired())
            return fail(Errc::timed_out, "no sample on topic '" + impl_->topic + "' before the deadline");
        reader.wait(impl_->options.spin, deadline);
    }
}

int Subscriber::wake_fd() const { return impl_->wake.get(); }

bool Subscriber::arm() {
    impl_->drain_wake();
    impl_->armed = impl_->shared_reader->arm_socket();
    return impl_->armed;
}

Result<DeathSubscription> Subscriber::on_publisher_death(DeathCallback callback) {
    return impl_->connection->on_death(std::move(callback));
}

bool Subscriber::publisher_alive() const {
    return impl_->connection->alive() && !impl_->shared_reader->publisher_closed();
}

Result<> Subscriber::resubscribe(Context& context) {
    impl_->unsubscribe();
    return impl_->subscribe(context);
}

uint64_t Subscriber::dropped() const { return impl_->shared_reader->dropped(); }
uint64_t Subscriber::refused() const { return impl_->shared_reader->refused(); }
const std::string& Subscriber::topic() const { return impl_->topic; }

}  // namespace liteipc
