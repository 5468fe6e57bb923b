// A connection's data plane: many client threads calling one service over three shared regions.
//
//   ctrl          read-write for both: request ring, call slots, doorbell (channel_layout.h)
//   request pool  written by the client, mapped read-only by the service
//   reply pool    written by the service, mapped read-only by the client
//
// A call claims a slot, writes its request descriptor (payload inline, or a reference into the request
// pool), publishes the slot index on the ring, rings the doorbell if a worker sleeps, and waits on the
// reply's call sequence: first spinning briefly, then sleeping on its futex. A worker pops
// slot indices from every connection it serves, runs the handler, writes the reply descriptor and wakes
// the caller only if it sleeps.
//
// The ctrl region is hostile territory: whatever a peer writes there can at worst fail calls on that
// connection (Errc::malformed, Errc::timed_out), never corrupt memory or block the other side past its
// deadline. Pool metadata never leaves the writer's private memory.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "transport/channel_layout.h"
#include "common/deadline.h"
#include "liteipc/error.h"
#include "common/mapping.h"

namespace liteipc::detail {

// ---------------------------------------------------------------------------------------------
// Regions

struct ChannelConfig {
    uint32_t slot_count = kDefaultSlotCount;
    uint64_t request_pool_size = 4u << 20;
    uint64_t reply_pool_size = 4u << 20;
};

// Descriptors one side attaches with; the side maps each with the protection its role allows.
struct ChannelFds {
    int ctrl = -1;
    int request_pool = -1;
    int reply_pool = -1;
    int doorbell = -1;  // the eventfd the client writes to wake the service's workers
};

// One side's own descriptors for a connection.
struct PeerFds {
    UniqueFd ctrl;
    UniqueFd request_pool;
    UniqueFd reply_pool;
    UniqueFd doorbell;
    ChannelFds view() const noexcept { return {ctrl.get(), request_pool.get(), reply_pool.get(), doorbell.get()}; }
};

// The three regions of a connection as created: O_RDWR memfds, all sealed against resizing (a peer
// must not be able to truncate a region under the other and make it fault), the ctrl region initialized.
// Whoever creates them (the loader) hands each peer only what its role allows. A read-only fd alone does
// not stop a reader from writing (it can re-open the memfd O_RDWR through /proc): each writer seals its
// pool with F_SEAL_FUTURE_WRITE when it attaches, so attach the writer of a pool before its reader gets it.
struct ChannelRegions {
    UniqueFd ctrl;
    UniqueFd request_pool;
    UniqueFd reply_pool;
    UniqueFd doorbell;  // an eventfd (a real service makes its own and sends it to the client)
    // The connection's socket (a SOCK_SEQPACKET pair): fds travel on it, and a close is its hangup.
    UniqueFd client_socket;
    UniqueFd service_socket;

    static Result<ChannelRegions> create(const ChannelConfig& config = {});
    // Client: ctrl and request pool read-write, reply pool re-opened read-only.
    Result<PeerFds> for_client() const;
    // Service: ctrl and reply pool read-write, request pool re-opened read-only.
    Result<PeerFds> for_service() const;
};

// An eventfd for a connection's doorbell: non-blocking (a client never waits to ring), close-on-exec.
Result<UniqueFd> create_doorbell();

// A fresh ctrl region: a memfd sized for `slot_count` slots, initialized, sealed against resizing.
Result<UniqueFd> create_ctrl_region(uint32_t slot_count);

// A payload pool: a hugetlb memfd (2 MiB pages, size rounded up) when hugepages are reserved and the
// pool is at least one huge page, else regular shared memory; sealed against resizing either way.
struct PoolFile {
    UniqueFd fd;
    bool hugepages = false;
};
Result<PoolFile> create_pool(const char* name, uint64_t size, bool try_hugepages = true);

// The writer's side of a pool: mapped read-write, then sealed so that no one else can ever map it
// writable. Do this before the pool's fd reaches the reader.
Result<Mapping> map_writer_pool(int fd);

// Write a fresh header, ring and free slots into a ctrl region of at least
// ChannelGeometry::for_slots(slot_count).region_size bytes.
Result<void> initialize_ctrl_region(std::span<std::byte> region, uint32_t slot_count);

// A peer holding any fd to a region could shrink it and turn our next access into SIGBUS: attach
// only to regions sealed against resizing.
Result<void> require_fixed_size(int fd, const char* region);

// ---------------------------------------------------------------------------------------------
// The ctrl region seen through a private, validated copy of its geometry.

class ControlView {
public:
    ControlView() = default;
    // Validates the header against the mapping size and keeps a private copy of the geometry.
    static Result<ControlView> attach(std::byte* base, std::size_t size);

    const ChannelGeometry& geometry() const noexcept { return geometry_; }
    uint32_t slot_count() const noexcept { return geometry_.slot_count; }
    ChannelControl& control() const noexcept { return *control_; }
    Doorbell& doorbell() const noexcept { return control_->doorbell; }
    CallSlot& slot(uint32_t index) const noexcept { return slots_[index]; }  // index < slot_count()

    // Publish a slot index. Retries while the ring looks full until the deadline (it never is full with
    // an honest peer: the ring holds at least one cell per slot).
    Result<void> push(uint32_t slot_index, Deadline deadline) const;
    // Take one slot index, or false when empty. The index is NOT validated: it came from the peer.
    bool pop(uint32_t& slot_index) const;
    bool has_pending() const;
    // The client, while it has nothing else to do: take the line of the next push's cell for writing
    // now (the service last wrote it when it popped), so the push does not wait for that transfer.
    void prefetch_next_push() const noexcept {
        const uint64_t position = control_->enqueue.position.load(std::memory_order_relaxed);
        __builtin_prefetch(&cells_[position & (geometry_.ring_capacity - 1)], 1);
    }
    // After a push: if the service armed the doorbell, disarm it and write `doorbell_fd` (Dekker: fence,
    // then read `armed`; the service arms, fences, then re-checks the ring).
    void ring_doorbell(int doorbell_fd) const;
    // The service: it no longer polls this connection; the next request must ring.
    void arm_doorbell() const noexcept { control_->doorbell.armed.store(1, std::memory_order_seq_cst); }
    void disarm_doorbell() const noexcept { control_->doorbell.armed.store(0, std::memory_order_relaxed); }

private:
    ChannelGeometry geometry_{};
    ChannelControl* control_ = nullptr;
    RingCell* cells_ = nullptr;
    CallSlot* slots_ = nullptr;
};

}  // namespace liteipc::detail
