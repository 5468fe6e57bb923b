#include "transport/mediated.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "kernel/kernel_seam.h"
#include "liteipc_abi.h"

namespace liteipc::detail {

Result<void> MediatedSender::send(uint32_t slot, const MessageDescriptor& request, Deadline deadline) const {
    liteipc_send_ctl ctl{};
    ctl.conn_id = conn_id_;
    ctl.slot = slot;
    ctl.code = request.code;
    ctl.flags = request.flags;
    ctl.payload_kind = request.payload_kind;
    ctl.payload_offset = request.pool_offset;
    ctl.payload_length = request.payload_length;
    ctl.call_sequence = request.call_sequence;
    for (uint32_t attempt = 0;; ++attempt) {
        auto result = kernel_->send(ctl);
        if (!result) return std::unexpected(result.error());
        switch (-*result) {
            case 0: return {};
            case EPERM:
                return fail(Errc::permission_denied, "the kernel refused the message: the service's policy no longer "
                                                     "admits this process", EPERM);
            case ENOTCONN: return fail(Errc::closed, "the kernel knows no such connection of this process", ENOTCONN);
            case EOWNERDEAD: return fail(Errc::dead_object, "the service's process is gone", EOWNERDEAD);
            case EAGAIN: break;
            default: return fail(Errc::kernel, "send refused", -*result);
        }
        // The service is behind: its ring holds records it has not taken yet.
        if (deadline.expired()) return fail(Errc::timed_out, "the service's message ring stayed full", EAGAIN);
        if (attempt < 64) std::this_thread::yield();
        else std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
}

Result<void> MediatedSender::stamp(uint32_t sample, uint64_t size, uint64_t sequence) const {
    liteipc_send_ctl ctl{};
    ctl.conn_id = conn_id_;
    ctl.slot = sample;
    ctl.payload_length = size;
    ctl.call_sequence = sequence;
    auto result = kernel_->send(ctl);
    if (!result) return std::unexpected(result.error());
    switch (-*result) {
        case 0: return {};
        case ERANGE:
            return fail(Errc::invalid_argument, "the kernel refused to stamp a sample outside the topic's pool", ERANGE);
        case EALREADY:
            return fail(Errc::invalid_argument, "the kernel refused to stamp a sequence not above the last one", EALREADY);
        case EAGAIN: return fail(Errc::no_memory, "the subscriber's stamp ring is full", EAGAIN);
        case ENOTCONN: return fail(Errc::closed, "the kernel knows no such subscription of this topic", ENOTCONN);
        case EOWNERDEAD: return fail(Errc::dead_object, "the topic is no longer this process's", EOWNERDEAD);
        default: return fail(Errc::kernel, "stamp refused", -*result);
    }
}

namespace {
constexpr uint32_t kRingBusyBit = 1u << 31;     // BPF_RINGBUF_BUSY_BIT: reserved, not committed yet
constexpr uint32_t kRingDiscardBit = 1u << 30;  // BPF_RINGBUF_DISCARD_BIT
constexpr uint32_t kRingHeaderSize = 8;         // BPF_RINGBUF_HDR_SZ
}  // namespace

Result<MessageRing> MessageRing::map(int ring_fd) {
    // A ring buffer maps as: one consumer page (read-write), then one producer page and the data
    // area twice (read-only), so that a record running past the end reads on contiguously.
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t data_size = LITEIPC_MESSAGE_RING_BYTES;
    MessageRing ring;
    auto consumer = Mapping::map(ring_fd, page, PROT_READ | PROT_WRITE, 0);
    if (!consumer) return std::unexpected(consumer.error());
    auto producer = Mapping::map(ring_fd, page + 2 * data_size, PROT_READ, static_cast<off_t>(page));
    if (!producer) return std::unexpected(producer.error());
    ring.consumer_page_ = std::move(*consumer);
    ring.producer_pages_ = std::move(*producer);
    ring.consumer_pos_ = reinterpret_cast<std::atomic<uint64_t>*>(ring.consumer_page_.data());
    ring.producer_pos_ = reinterpret_cast<const std::atomic<uint64_t>*>(ring.producer_pages_.data());
    ring.data_ = ring.producer_pages_.data() + page;
    ring.mask_ = data_size - 1;
    return ring;
}

bool MessageRing::has_pending() const noexcept {
    return data_ != nullptr &&
           consumer_pos_->load(std::memory_order_acquire) < producer_pos_->load(std::memory_order_acquire);
}

bool MessageRing::pop(liteipc_message_record& record) noexcept {
    if (data_ == nullptr) return false;
    for (;;) {
        uint64_t consumer = consumer_pos_->load(std::memory_order_acquire);
        if (consumer >= producer_pos_->load(std::memory_order_acquire)) return false;
        const auto* header = reinterpret_cast<const std::atomic<uint32_t>*>(data_ + (consumer & mask_));
        const uint32_t length_word = header->load(std::memory_order_acquire);
        if ((length_word & kRingBusyBit) != 0) return false;  // the next record is still being written
        const uint32_t length = length_word & ~(kRingBusyBit | kRingDiscardBit);
        const bool usable = (length_word & kRingDiscardBit) == 0 && length == sizeof record;
        if (usable) std::memcpy(&record, data_ + (consumer & mask_) + kRingHeaderSize, sizeof record);
        const uint64_t next = consumer + ((uint64_t{length} + kRingHeaderSize + 7) & ~uint64_t{7});
        // Whoever moves the position past the record owns the copy it took before.
        if (!consumer_pos_->compare_exchange_strong(consumer, next, std::memory_order_release,
                                                    std::memory_order_relaxed))
            continue;
        if (usable) return true;
    }
}

}  // namespace liteipc::detail
