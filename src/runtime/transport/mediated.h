// The mediated path. A message to a mediated service passes the kernel's "send" program, which
// finds out itself who sends (pid, tid, uid, gid), re-checks the service's policy for this very
// message, and writes the message's record into the connection's message ring: a BPF ring buffer
// that only the service reads. The service takes requests from that ring instead of the ctrl
// region's ring, so a request the kernel did not see is never served, and the identity it serves
// the request under is the kernel's, not anything the client wrote.
//
// Wakeups: the program writes with BPF_RB_NO_WAKEUP (a ring buffer wakeup costs an irq_work per
// message). The sender rings the connection's doorbell instead, which costs a syscall only when
// the service's workers armed it before going to sleep (channel_ctrl.h).
#pragma once

#include <atomic>
#include <cstdint>

#include "common/deadline.h"
#include "common/mapping.h"
#include "liteipc/error.h"
#include "transport/channel_layout.h"

// bpf/liteipc_abi.h, which the code including this header need not see.
struct liteipc_message_record;

namespace liteipc::detail {

class KernelSeam;  // kernel/kernel_seam.h

// Client side: hands one published request to the send program. A mediated topic's publisher
// uses the same program the other way round: one stamp per publish per subscriber.
class MediatedSender {
public:
    MediatedSender(const KernelSeam& kernel, uint64_t conn_id) noexcept : kernel_(&kernel), conn_id_(conn_id) {}

    // The request sitting in call slot `slot`. Errc::permission_denied when the service's policy no
    // longer lets this process in; a full ring (the service is behind) is retried until `deadline`.
    Result<void> send(uint32_t slot, const MessageDescriptor& request, Deadline deadline) const;
    // The stamp of a published sample (pool slot `sample`, `size` bytes, the topic's `sequence`)
    // for the subscriber on this connection, tried once. Errc::no_memory when its ring is full (the
    // subscriber is that far behind); Errc::invalid_argument when the kernel finds the sample
    // outside the registered pool or the sequence not rising.
    Result<void> stamp(uint32_t sample, uint64_t size, uint64_t sequence) const;

private:
    const KernelSeam* kernel_;  // the context's, which outlives its connections
    uint64_t conn_id_;
};

// Service side: one connection's message ring, read by any number of workers at once. The
// consumer position is advanced with a compare-and-swap after the record is copied out, so two
// workers never take the same record and the kernel never reuses space a worker still reads.
class MessageRing {
public:
    MessageRing() = default;
    static Result<MessageRing> map(int ring_fd);

    bool valid() const noexcept { return data_ != nullptr; }
    bool has_pending() const noexcept;
    // The next record, or false when the ring is empty or its head is still being written.
    bool pop(liteipc_message_record& record) noexcept;

private:
    Mapping consumer_page_;  // read-write: the consumer position
    Mapping producer_pages_;  // read-only: the producer position, then the data twice over
    std::atomic<uint64_t>* consumer_pos_ = nullptr;
    const std::atomic<uint64_t>* producer_pos_ = nullptr;
    const std::byte* data_ = nullptr;
    uint64_t mask_ = 0;
};

}  // namespace liteipc::detail
