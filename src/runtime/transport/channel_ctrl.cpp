#include "transport/channel_ctrl.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <thread>

#include "transport/channel_descriptor.h"
#include "common/futex.h"
#include "transport/pool.h"
#include "common/log.h"

namespace liteipc::detail {
namespace {

Result<UniqueFd> duplicate(int fd) {
    UniqueFd copy{::fcntl(fd, F_DUPFD_CLOEXEC, 0)};
    if (!copy) return fail_errno("dup of fd " + std::to_string(fd));
    return copy;
}

Result<PeerFds> peer_fds(int ctrl, int writable_pool, int readable_pool, int doorbell, bool client) {
    auto ctrl_copy = duplicate(ctrl);
    if (!ctrl_copy) return std::unexpected(ctrl_copy.error());
    auto own_pool = duplicate(writable_pool);
    if (!own_pool) return std::unexpected(own_pool.error());
    auto peer_pool = reopen_read_only(readable_pool);
    if (!peer_pool) return std::unexpected(peer_pool.error());
    auto doorbell_copy = duplicate(doorbell);
    if (!doorbell_copy) return std::unexpected(doorbell_copy.error());
    PeerFds fds;
    fds.ctrl = std::move(*ctrl_copy);
    fds.doorbell = std::move(*doorbell_copy);
    if (client) {
        fds.request_pool = std::move(*own_pool);
        fds.reply_pool = std::move(*peer_pool);
    } else {
        fds.reply_pool = std::move(*own_pool);
        fds.request_pool = std::move(*peer_pool);
    }
    return fds;
}

}  // namespace

// A peer holding any fd to a region could shrink it and turn our next access into SIGBUS: attach
// only to regions sealed against resizing.
Result<void> require_fixed_size(int fd, const char* region) {
    auto seals = seals_of(fd);
    if (!seals) return std::unexpected(seals.error());
    if ((*seals & F_SEAL_SHRINK) == 0) {
        return fail(Errc::permission_denied, std::string(region) +
                                                 " region is not sealed against shrinking (F_SEAL_SHRINK): a "
                                                 "peer could truncate it under us");
    }
    return {};
}

Result<Mapping> map_writer_pool(int fd) {
    if (auto sealed = require_fixed_size(fd, "pool"); !sealed) return std::unexpected(sealed.error());
    auto pool = Mapping::map_whole(fd, PROT_READ | PROT_WRITE);
    if (!pool) return std::unexpected(pool.error());
    // Once the writer's own writable mapping exists, no one (the peer through a re-opened fd
    // included) can map the pool writable or write() it again.
    if (auto sealed = add_seals(fd, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL); !sealed) return std::unexpected(sealed.error());
    return pool;
}

Result<PoolFile> create_pool(const char* name, uint64_t size, bool try_hugepages) {
    constexpr uint64_t kHugePage = 2u << 20;
    // A smaller pool would waste most of a huge page, and a service with many connections would
    // drain the machine's reserve.
    if (try_hugepages && size >= kHugePage) {
        uint64_t rounded = (size + kHugePage - 1) / kHugePage * kHugePage;
        UniqueFd fd{::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_HUGE_2MB)};
        // ftruncate succeeds even with no hugepages reserved; only a real mapping tells. The
        // mapping also reserves the pages for the file, so the peers' mappings cannot fail later.
        if (fd && ::ftruncate(fd.get(), static_cast<off_t>(rounded)) == 0) {
            void* probe = ::mmap(nullptr, rounded, PROT_READ, MAP_SHARED, fd.get(), 0);
            if (probe != MAP_FAILED) {
                ::munmap(probe, rounded);
                if (auto sealed = add_seals(fd.get(), F_SEAL_SHRINK | F_SEAL_GROW); sealed)
                    return PoolFile{std::move(fd), true};
            }
        }
        LITEIPC_LOG(debug, "no hugepages for a %llu-byte pool: using regular shared memory",
                    static_cast<unsigned long long>(size));
    }
    auto fd = create_memfd(name, size);
    if (!fd) return std::unexpected(fd.error());
    if (auto sealed = add_seals(fd->get(), F_SEAL_SHRINK | F_SEAL_GROW); !sealed) return std::unexpected(sealed.error());
    return PoolFile{std::move(*fd), false};
}

Result<UniqueFd> create_doorbell() {
    UniqueFd doorbell{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    if (!doorbell) return fail_errno("eventfd for a connection's doorbell", errno == EMFILE || errno == ENFILE ? Errc::no_memory : Errc::system);
    return doorbell;
}

Result<UniqueFd> create_ctrl_region(uint32_t slot_count) {
    const ChannelGeometry geometry = ChannelGeometry::for_slots(slot_count);
    auto ctrl = create_memfd("liteipc-ctrl", geometry.region_size);
    if (!ctrl) return std::unexpected(ctrl.error());
    {
        auto mapping = Mapping::map(ctrl->get(), geometry.region_size, PROT_READ | PROT_WRITE);
        if (!mapping) return std::unexpected(mapping.error());
        if (auto initialized = initialize_ctrl_region(mapping->bytes(), slot_count); !initialized)
            return std::unexpected(initialized.error());
    }
    if (auto sealed = add_seals(ctrl->get(), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL); !sealed)
        return std::unexpected(sealed.error());
    return ctrl;
}

// ---------------------------------------------------------------------------------------------
// Regions

Result<void> initialize_ctrl_region(std::span<std::byte> region, uint32_t slot_count) {
    if (slot_count == 0 || slot_count > kMaxSlotCount) {
        return fail(Errc::invalid_argument, "slot count " + std::to_string(slot_count) + " outside 1.." +
                                                std::to_string(kMaxSlotCount));
    }
    const ChannelGeometry geometry = ChannelGeometry::for_slots(slot_count);
    if (region.size() < geometry.region_size) {
        return fail(Errc::invalid_argument, "ctrl region of " + std::to_string(region.size()) + " bytes, " +
                                                std::to_string(geometry.region_size) + " needed for " +
                                                std::to_string(slot_count) + " slots");
    }
    std::memset(region.data(), 0, geometry.region_size);
    auto* control = new (region.data()) ChannelControl{};
    auto* cells = reinterpret_cast<RingCell*>(region.data() + geometry.ring_offset);
    for (uint32_t i = 0; i < geometry.ring_capacity; ++i) {
        new (&cells[i]) RingCell{};
        cells[i].sequence.store(i, std::memory_order_relaxed);
    }
    auto* slots = reinterpret_cast<CallSlot*>(region.data() + geometry.slots_offset);
    for (uint32_t i = 0; i < slot_count; ++i) new (&slots[i]) CallSlot{};

    ChannelHeader header{};
    header.magic = kChannelMagic;
    header.version = kChannelVersion;
    header.slot_count = slot_count;
    header.ring_capacity = geometry.ring_capacity;
    header.descriptor_size = sizeof(MessageDescriptor);
    header.slot_size = sizeof(CallSlot);
    header.inline_capacity = kInlinePayloadCapacity;
    header.ring_offset = geometry.ring_offset;
    header.slots_offset = geometry.slots_offset;
    header.region_size = geometry.region_size;
    std::memcpy(&control->header, &header, sizeof header);
    std::atomic_thread_fence(std::memory_order_release);
    return {};
}

Result<ChannelRegions> ChannelRegions::create(const ChannelConfig& config) {
    if (config.slot_count == 0 || config.slot_count > kMaxSlotCount) {
        return fail(Errc::invalid_argument, "slot count " + std::to_string(config.slot_count) + " outside 1.." +
                                                std::to_string(kMaxSlotCount));
    }
    if (config.request_pool_size < PoolBlockAllocator::kAlignment ||
        config.reply_pool_size < PoolBlockAllocator::kAlignment) {
        return fail(Errc::invalid_argument, "pools must hold at least one 64-byte block");
    }
    auto ctrl = create_ctrl_region(config.slot_count);
    if (!ctrl) return std::unexpected(ctrl.error());
    // Pools: fixed size now; each writer adds F_SEAL_FUTURE_WRITE once it has mapped its pool.
    auto request_pool = create_memfd("liteipc-request-pool", config.request_pool_size);
    if (!request_pool) return std::unexpected(request_pool.error());
    auto reply_pool = create_memfd("liteipc-reply-pool", config.reply_pool_size);
    if (!reply_pool) return std::unexpected(reply_pool.error());
    for (int pool : {request_pool->get(), reply_pool->get()}) {
        if (auto sealed = add_seals(pool, F_SEAL_SHRINK | F_SEAL_GROW); !sealed) return std::unexpected(sealed.error());
    }
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return fail_errno("socketpair for a connection");
    UniqueFd client_socket(pair[0]), service_socket(pair[1]);
    auto doorbell = create_doorbell();
    if (!doorbell) return std::unexpected(doorbell.error());
    return ChannelRegions{std::move(*ctrl), std::move(*request_pool), std::move(*reply_pool), std::move(*doorbell),
                          std::move(client_socket), std::move(service_socket)};
}

Result<PeerFds> ChannelRegions::for_client() const {
    return peer_fds(ctrl.get(), request_pool.get(), reply_pool.get(), doorbell.get(), true);
}

Result<PeerFds> ChannelRegions::for_service() const {
    return peer_fds(ctrl.get(), reply_pool.get(), request_pool.get(), doorbell.get(), false);
}

// ---------------------------------------------------------------------------------------------
// ControlView

Result<ControlView> ControlView::attach(std::byte* base, std::size_t size) {
    if (base == nullptr || size < sizeof(ChannelControl)) {
        return fail(Errc::malformed, "ctrl region of " + std::to_string(size) + " bytes is too small");
    }
    ChannelHeader header;
    std::memcpy(&header, base, sizeof header);  // one fetch: the peer may rewrite it at any time
    if (header.magic != kChannelMagic) {
        return fail(Errc::malformed, "ctrl region has magic " + std::to_string(header.magic) + ", not a channel's");
    }
    if (header.version != kChannelVersion) {
        // A loader or peer of another release laid it out: never read its slots through our struct.
        LITEIPC_LOG(error, "ctrl region has channel layout version %u, this library speaks version %u", header.version,
                    kChannelVersion);
        return fail(Errc::abi_mismatch, "ctrl region has channel layout version " + std::to_string(header.version) +
                                            ", this library speaks version " + std::to_string(kChannelVersion) +
                                            ": run liteipc-loader and libliteipc of the same release");
    }
    if (header.slot_count == 0 || header.slot_count > kMaxSlotCount) {
        return fail(Errc::malformed, "ctrl region claims " + std::to_string(header.slot_count) + " slots");
    }
    // The whole geometry follows from the slot count: anything else is a corrupt or foreign header.
    const ChannelGeometry geometry = ChannelGeometry::for_slots(header.slot_count);
    if (header.ring_capacity != geometry.ring_capacity || header.ring_offset != geometry.ring_offset ||
        header.slots_offset != geometry.slots_offset || header.region_size != geometry.region_size ||
        header.descriptor_size != sizeof(MessageDescriptor) || header.slot_size != sizeof(CallSlot) ||
        header.inline_capacity != kInlinePayloadCapacity) {
        return fail(Errc::malformed, "ctrl region geometry does not match its slot count " +
                                         std::to_string(header.slot_count));
    }
    if (geometry.region_size > size) {
        return fail(Errc::malformed, "ctrl region needs " + std::to_string(geometry.region_size) +
                                         " bytes, mapping has " + std::to_string(size));
    }
    ControlView view;
    view.geometry_ = geometry;
    view.control_ = reinterpret_cast<ChannelControl*>(base);
    view.cells_ = reinterpret_cast<RingCell*>(base + geometry.ring_offset);
    view.slots_ = reinterpret_cast<CallSlot*>(base + geometry.slots_offset);
    return view;
}

Result<void> ControlView::push(uint32_t slot_index, Deadline deadline) const {
    auto& enqueue = control_->enqueue.position;
    const uint64_t mask = geometry_.ring_capacity - 1;
    uint64_t position = enqueue.load(std::memory_order_relaxed);
    for (uint32_t attempt = 1;; ++attempt) {
        RingCell& cell = cells_[position & mask];
        const uint64_t sequence = cell.sequence.load(std::memory_order_acquire);
        const auto lag = static_cast<int64_t>(sequence - position);
        if (lag == 0) {
            if (enqueue.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
                cell.slot_index.store(slot_index, std::memory_order_relaxed);
                cell.sequence.store(position + 1, std::memory_order_release);
                return {};
            }
        } else if (lag < 0) {
            // Looks full. With an honest peer only for an instant (a worker between its claim and its
            // release of the cell); a corrupted ring stays "full" until the deadline.
            std::this_thread::yield();
            position = enqueue.load(std::memory_order_relaxed);
        } else {
            position = enqueue.load(std::memory_order_relaxed);
        }
        if ((attempt & 255) == 0 && deadline.expired()) {
            return fail(Errc::timed_out, "request ring stayed full until the deadline (service stalled, or a "
                                         "corrupted ring)");
        }
    }
}

bool ControlView::pop(uint32_t& slot_index) const {
    auto& dequeue = control_->dequeue.position;
    const uint64_t mask = geometry_.ring_capacity - 1;
    uint64_t position = dequeue.load(std::memory_order_relaxed);
    // Bounded: a peer scribbling over the cursors must not keep a worker here.
    for (int attempt = 0; attempt < 64; ++attempt) {
        RingCell& cell = cells_[position & mask];
        const uint64_t sequence = cell.sequence.load(std::memory_order_acquire);
        const auto lag = static_cast<int64_t>(sequence - (position + 1));
        if (lag == 0) {
            if (dequeue.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
                slot_index = cell.slot_index.load(std::memory_order_relaxed);
                cell.sequence.store(position + mask + 1, std::memory_order_release);
                return true;
            }
        } else if (lag < 0) {
            return false;
        } else {
            position = dequeue.load(std::memory_order_relaxed);
        }
    }
    return false;
}

bool ControlView::has_pending() const {
    const uint64_t position = control_->dequeue.position.load(std::memory_order_acquire);
    const RingCell& cell = cells_[position & (geometry_.ring_capacity - 1)];
    return cell.sequence.load(std::memory_order_acquire) == position + 1;
}

void ControlView::ring_doorbell(int doorbell_fd) const {
    // Pairs with the service's arm, fence, re-check of the ring: either the service sees our push, or
    // we see the doorbell armed. Only the client thread that disarms it writes: one wake per arming.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    auto& armed = control_->doorbell.armed;
    if (armed.load(std::memory_order_relaxed) != 0 && armed.exchange(0, std::memory_order_acq_rel) != 0) {
        const uint64_t one = 1;
        // EAGAIN only when the counter is near 2^64 (a peer wrote that): the wake is lost to that peer alone.
        ssize_t written = ::write(doorbell_fd, &one, sizeof one);
        (void)written;
    }
}

}  // namespace liteipc::detail
