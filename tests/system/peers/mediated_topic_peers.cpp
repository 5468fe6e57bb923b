// Roles of the mediated topic tests (tests/system/mediated_topic_test.cpp): an honest publisher of
// another uid, and a publisher that forges what it can reach, one step at a time when told.
#include <atomic>
#include <optional>
#include <thread>

#include "api/context_impl.h"
#include "common/status_document.h"
#include "kernel/kernel_seam.h"
#include "liteipc/topic.h"
#include "liteipc_abi.h"
#include "peer_role.h"
#include "test_processes.h"
#include "topic_protocol.h"
#include "transport/topic_layout.h"

namespace liteipc::testing {
namespace {

constexpr uint32_t kForgerSamples = 16;

// Publishes its own pid, one sample per loan.
Result<uint64_t> publish_pid(Publisher& publisher) {
    const int32_t pid = ::getpid();
    return publisher.publish_copy(std::as_bytes(std::span(&pid, 1)));
}

// The entry last queued to the one subscriber, in the publisher's own writable mapping of its queue:
// what it can write by hand.
detail::QueueEntry* last_entry() {
    auto queues = writable_regions("liteipc-topic-queue");
    if (queues.size() != 1) return nullptr;
    auto* queue = reinterpret_cast<detail::QueueHeader*>(queues[0].data());
    const uint64_t tail = queue->tail.load(std::memory_order_acquire);
    return tail == 0 ? nullptr : &detail::queue_entries(queue)[(tail - 1) % queue->depth];
}

// The connection of the topic's one subscriber, as the loader lists it.
uint64_t subscriber_conn_id(const Context& context, const std::string& topic) {
    auto text = context.loader_status();
    if (!text) return 0;
    auto document = status::parse_status_document(*text);
    if (!document) return 0;
    for (const auto& s : document->services)
        if (s.name == topic && s.clients.size() == 1) return s.clients[0].conn_id;
    return 0;
}

// Reads the context options, a uid and a topic; as that uid, publishes the topic mediated (anyone may
// subscribe) with `samples` slots, and reports 0 (or -1, or the Errc).
struct MediatedStart {
    std::optional<Context> context;
    std::optional<Publisher> publisher;
    std::string topic;
};
MediatedStart start_mediated(PeerArgs& args, uint32_t samples) {
    no_core_dumps();
    MediatedStart started;
    ContextOptions context_options = read_context_options(args);
    const auto uid = static_cast<uid_t>(args.number());
    started.topic = args.text();
    Result<Context> context = fail(Errc::permission_denied, "could not become uid " + std::to_string(uid));
    if (uid == 0 || become_group_member(uid)) context = Context::open(context_options);
    if (!context) {
        report(int64_t{-1});
        return started;
    }
    started.context.emplace(std::move(*context));
    auto publisher = Publisher::create(*started.context, {.name = started.topic, .subscriber_policy = Policy::anyone,
                                                          .sample_size = 64, .sample_count = samples, .mediated = true});
    report(int64_t{publisher ? 0 : static_cast<int64_t>(publisher.error().code)});
    if (publisher) started.publisher.emplace(std::move(*publisher));
    return started;
}

}  // namespace

// Publishes mediated `topic` as `uid`, its pid every millisecond until killed.
LITEIPC_PEER_ROLE(mediated_publisher) {
    MediatedStart started = start_mediated(args, 256);
    if (!started.publisher) return 0;
    Publisher& publisher = *started.publisher;
    for (;;) {
        (void)publish_pid(publisher);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

// Publishes mediated `topic` as `uid` and reports 0; once its one subscriber is in, takes each
// TopicForgery step it is told and reports a TopicForgeryReport.
LITEIPC_PEER_ROLE(forging_publisher) {
    MediatedStart started = start_mediated(args, kForgerSamples);
    if (!started.publisher) return 0;
    Context& context = *started.context;
    Publisher& publisher = *started.publisher;
    const std::string& topic = started.topic;
    TopicForgery step{};
    while (receive(step)) {
        TopicForgeryReport out;
        if (step == TopicForgery::kernel_records) {
            const uint64_t conn_id = subscriber_conn_id(context, topic);
            const detail::KernelSeam& kernel = context.impl().kernel();
            auto run = [&](uint32_t slot, uint64_t length, uint64_t sequence) {
                liteipc_send_ctl ctl{};
                ctl.conn_id = conn_id;
                ctl.slot = slot;
                ctl.payload_length = length;
                ctl.call_sequence = sequence;
                auto result = kernel.send(ctl);
                return result ? *result : -9999;
            };
            out.slot_past_end = run(kForgerSamples, 8, 1u << 30);
            out.wrapping_length = run(0, ~uint64_t{0}, (1u << 30) + 1);
            out.stale_sequence = run(0, 8, 1);  // the kernel stamped later ones already
            out.result = conn_id != 0 ? 0 : -2;
        } else {
            auto published = publish_pid(publisher);
            detail::QueueEntry* entry = published ? last_entry() : nullptr;
            out.sequence = published ? *published : 0;
            out.result = entry ? 0 : -3;
            // The publisher's own queue memory, written by hand after the kernel stamped the sample.
            if (entry && step == TopicForgery::wrong_size)
                std::atomic_ref<uint64_t>(entry->size).store(32, std::memory_order_release);
            if (entry && step == TopicForgery::unstamped_sequence)
                std::atomic_ref<uint64_t>(entry->sequence).store(*published + 1000, std::memory_order_release);
        }
        if (!report(out)) return 101;
    }
    return 0;
}

}  // namespace liteipc::testing
