// The floors: two processes and a shared mapping, nothing else.
//
//   shm-spin        (busy in-place floor)      receivers spin on the producer's sequence word
//   shm-futex       (blocking in-place floor)  receivers sleep with FUTEX_WAIT on that word; the
//                                              producer calls FUTEX_WAKE only when it sleeps
//   shm-copy-spin   (busy copying floor)       the same rings, but each side copies: the sender
//   shm-copy-futex  (blocking copying floor)   fills a private buffer and copies it into the slot,
//                                              the receiver copies the slot out and checks its copy
//
// One single-producer/single-consumer ring per direction, slots in the shared mapping. In place,
// the sender fills the slot and the receiver checks it there: the payload is written and read
// once each way and never copied, the least any zero-copy transport can do. The copying floors
// add the two copies per message a copy-in/copy-out transport (a socket, a pipe) makes, without
// the kernel: what zero copy saves is the gap between the two pairs.
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#include "payload.h"
#include "sys.h"
#include "transport.h"

namespace liteipc::bench {
namespace {

constexpr std::size_t kCacheLine = 64;

// Control words of one ring, each written by one side only, on its own cache line.
struct RingControl {
    alignas(kCacheLine) std::atomic<std::uint32_t> head;               // published by the producer
    alignas(kCacheLine) std::atomic<std::uint32_t> tail;               // released by the consumer
    alignas(kCacheLine) std::atomic<std::uint32_t> consumer_sleeping;  // set by the consumer
    alignas(kCacheLine) std::atomic<std::uint32_t> producer_sleeping;  // set by the producer
};
static_assert(sizeof(RingControl) == 4 * kCacheLine);

enum class Wait { spin, futex };
enum class Copy { in_place, twice };

// A view of one ring inside the shared mapping; the same view works in both processes because
// the mapping is inherited at the same address.
class Ring {
public:
    Ring() = default;
    Ring(RingControl* ctl, unsigned char* slots, std::uint32_t count, std::size_t stride, Wait wait)
        : ctl_(ctl), slots_(slots), count_(count), stride_(stride), wait_(wait) {}

    // Producer: the next free slot, waiting while the ring is full.
    unsigned char* begin_write() noexcept {
        const std::uint32_t h = ctl_->head.load(std::memory_order_relaxed);
        wait_until(ctl_->tail, ctl_->producer_sleeping,
                   [&](std::uint32_t t) { return h - t < count_; });
        return slot(h);
    }
    // Producer: publish the slot from begin_write(); wake the consumer only if it sleeps.
    void end_write() noexcept {
        const std::uint32_t h = ctl_->head.load(std::memory_order_relaxed) + 1;
        publish(ctl_->head, h, ctl_->consumer_sleeping);
    }

    // Consumer: the oldest published slot, waiting while the ring is empty.
    const unsigned char* begin_read() noexcept {
        const std::uint32_t t = ctl_->tail.load(std::memory_order_relaxed);
        wait_until(ctl_->head, ctl_->consumer_sleeping, [&](std::uint32_t h) { return h != t; });
        return slot(t);
    }
    // Consumer: hand the slot back to the producer.
    void end_read() noexcept {
        const std::uint32_t t = ctl_->tail.load(std::memory_order_relaxed) + 1;
        publish(ctl_->tail, t, ctl_->producer_sleeping);
    }

private:
    unsigned char* slot(std::uint32_t index) const noexcept { return slots_ + (index % count_) * stride_; }

    void publish(std::atomic<std::uint32_t>& word, std::uint32_t value,
                 std::atomic<std::uint32_t>& peer_sleeping) noexcept {
        if (wait_ == Wait::spin) {
            word.store(value, std::memory_order_release);
            return;
        }
        // Store then load, both seq_cst, against the waiter's store-then-load below: either
        // the waiter sees the new value or this side sees that it sleeps (Dekker).
        word.store(value, std::memory_order_seq_cst);
        if (peer_sleeping.load(std::memory_order_seq_cst) != 0) futex_wake(&word);
    }

    template <typename Ready>
    void wait_until(std::atomic<std::uint32_t>& word, std::atomic<std::uint32_t>& sleeping,
                    Ready ready) noexcept {
        if (wait_ == Wait::spin) {
            Spinner spinner;
            while (!ready(word.load(std::memory_order_acquire))) spinner.pause();
            return;
        }
        for (;;) {
            std::uint32_t seen = word.load(std::memory_order_acquire);
            if (ready(seen)) return;
            sleeping.store(1, std::memory_order_seq_cst);
            seen = word.load(std::memory_order_seq_cst);
            if (!ready(seen)) futex_wait(&word, seen);  // returns at once if word != seen
            sleeping.store(0, std::memory_order_relaxed);
        }
    }

    RingControl* ctl_ = nullptr;
    unsigned char* slots_ = nullptr;
    std::uint32_t count_ = 0;
    std::size_t stride_ = 0;
    Wait wait_ = Wait::spin;
};

class ShmTransport final : public Transport {
public:
    ShmTransport(Wait wait, Copy copy) : wait_(wait), copy_(copy) {}
    ~ShmTransport() override { teardown(); }

    std::string_view name() const override {
        if (copy_ == Copy::twice) return wait_ == Wait::spin ? kShmCopySpin : kShmCopyFutex;
        return wait_ == Wait::spin ? kShmSpin : kShmFutex;
    }

    std::optional<std::string> unsupported(Regime regime, std::size_t) const override {
        if (wait_ == Wait::spin && regime != Regime::busy) return "spins by definition (busy floor only)";
        if (wait_ == Wait::futex && regime != Regime::blocking) return "sleeps by definition (blocking floor only)";
        return std::nullopt;
    }

    Result<> setup(const JobSpec& job) override {
        payload_ = job.payload;
        const std::size_t stride = (job.payload + kCacheLine - 1) / kCacheLine * kCacheLine;
        // Requests get room for a stream (up to 256 slots) within 2 MiB, so the ring stays in
        // cache as a pool with block reuse would; a reply is taken before the next request goes,
        // so one reply slot is reused by every round trip, as a freed reply block is.
        const auto request_slots = static_cast<std::uint32_t>(
            std::clamp<std::size_t>((2u << 20) / stride, 2, 256));
        constexpr std::uint32_t reply_slots = 1;
        map_len_ = 2 * sizeof(RingControl) + (request_slots + reply_slots) * stride;
        // On 2 MiB pages when the machine has them reserved, as liteipc's pools are: a floor
        // must not pay TLB misses the transports measured against it do not.
        constexpr std::size_t kHugePage = 2u << 20;
        map_len_ = (map_len_ + kHugePage - 1) / kHugePage * kHugePage;
        void* p = mmap(nullptr, map_len_, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED)
            p = mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED) return fail_errno("mmap of the shared rings");
        map_ = static_cast<unsigned char*>(p);

        auto* ctl = reinterpret_cast<RingControl*>(map_);
        new (&ctl[0]) RingControl{};
        new (&ctl[1]) RingControl{};
        unsigned char* data = map_ + 2 * sizeof(RingControl);
        requests_ = Ring(&ctl[0], data, request_slots, stride, wait_);
        replies_ = Ring(&ctl[1], data + request_slots * stride, reply_slots, stride, wait_);
        // The private buffer each side fills before copying in and copies out into (copying floors).
        if (copy_ == Copy::twice) private_.assign(stride, 0);
        return {};
    }

    Result<> serve() override {
        for (;;) {
            const PayloadCheck msg = take(requests_);
            if (!msg.intact) return fail(Errc::malformed, "request payload checksum mismatch");
            switch (msg.op) {
                case Op::request: send(replies_, Op::reply, msg.seq); break;
                case Op::flush: send(replies_, Op::ack, msg.seq); break;
                case Op::data: break;
                case Op::stop: return {};
                default: return fail(Errc::malformed, "unexpected op in request ring");
            }
        }
    }

    Result<> connect() override { return {}; }

    Result<> round_trip(std::uint64_t seq) override {
        send(requests_, Op::request, seq);
        return receive(Op::reply, seq);
    }

    Result<> stream(std::uint64_t first_seq, std::uint64_t count) override {
        for (std::uint64_t i = 0; i < count; ++i)
            send(requests_, i + 1 == count ? Op::flush : Op::data, first_seq + i);
        return receive(Op::ack, first_seq + count - 1);
    }

    Result<> stop() override {
        send(requests_, Op::stop, 0);
        return {};
    }

    void teardown() override {
        if (map_ != nullptr) munmap(map_, map_len_);
        map_ = nullptr;
        private_ = {};
    }

private:
    void send(Ring& ring, Op op, std::uint64_t seq) noexcept {
        if (copy_ == Copy::twice) {
            fill_payload(private_.data(), payload_, op, seq);
            std::memcpy(ring.begin_write(), private_.data(), payload_);
        } else {
            fill_payload(ring.begin_write(), payload_, op, seq);
        }
        ring.end_write();
    }

    // The oldest message of `ring`, checked in place or in a private copy; its slot is released.
    PayloadCheck take(Ring& ring) noexcept {
        const unsigned char* in = ring.begin_read();
        if (copy_ == Copy::twice) {
            std::memcpy(private_.data(), in, payload_);
            ring.end_read();
            return check_payload(private_.data(), payload_);
        }
        const PayloadCheck msg = check_payload(in, payload_);
        ring.end_read();
        return msg;
    }

    Result<> receive(Op op, std::uint64_t seq) noexcept {
        if (!payload_is(take(replies_), op, seq)) return fail(Errc::malformed, "reply payload mismatch");
        return {};
    }

    Wait wait_;
    Copy copy_;
    std::vector<unsigned char> private_;  // copying floors: the side's own buffer
    std::size_t payload_ = 0;
    unsigned char* map_ = nullptr;
    std::size_t map_len_ = 0;
    Ring requests_;
    Ring replies_;
};

}  // namespace

std::unique_ptr<Transport> make_shm_spin_transport() { return std::make_unique<ShmTransport>(Wait::spin, Copy::in_place); }
std::unique_ptr<Transport> make_shm_futex_transport() { return std::make_unique<ShmTransport>(Wait::futex, Copy::in_place); }
std::unique_ptr<Transport> make_shm_copy_spin_transport() { return std::make_unique<ShmTransport>(Wait::spin, Copy::twice); }
std::unique_ptr<Transport> make_shm_copy_futex_transport() { return std::make_unique<ShmTransport>(Wait::futex, Copy::twice); }

}  // namespace liteipc::bench
