#include "api/inbox.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "common/log.h"

namespace liteipc {
namespace {

// Tags of the inbox thread's epoll events; any other tag is the conn_id of a watched connection.
constexpr uint64_t kInboxRingTag = 0;
constexpr uint64_t kStopTag = ~uint64_t{0};

// Set on an inbox thread whose last reference to its owner it released itself (~Inbox).
thread_local bool t_inbox_owner_ended = false;

}  // namespace

Result<> Inbox::start(int inbox_fd, detail::RingBuffer::RecordHandler on_record, HangupHandler on_hangup,
                      KeepAlive keep_alive) {
    // The thread sleeps on the ring buffer and an eventfd that tells it to stop.
    auto ring = detail::RingBuffer::open(inbox_fd, std::move(on_record), "the inbox");
    if (!ring) return std::unexpected(ring.error());
    ring_ = std::move(*ring);
    on_hangup_ = std::move(on_hangup);
    keep_alive_ = std::move(keep_alive);
    stop_event_.reset(::eventfd(0, EFD_CLOEXEC));
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!stop_event_ || !epoll_) return fail_errno("eventfd/epoll for the inbox");
    for (auto [fd, tag] : {std::pair{ring_.epoll_fd(), kInboxRingTag}, std::pair{stop_event_.get(), kStopTag}}) {
        epoll_event event{EPOLLIN, {.u64 = tag}};
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) return fail_errno("epoll_ctl");
    }
    owner_pid_ = ::getpid();
    thread_ = std::make_unique<std::thread>([this] { run(); });
    return {};
}

Inbox::~Inbox() {
    if (thread_ && !in_owner_process()) {
        // A forked child's copy: the thread lives only in the parent.
        (void)thread_.release();
        return;
    }
    if (thread_ && thread_->get_id() == std::this_thread::get_id()) {
        // The thread held the last reference to the owner (see run): it cannot join itself, and
        // it ends on its own without touching this object again.
        thread_->detach();
        t_inbox_owner_ended = true;
    } else if (thread_) {
        uint64_t one = 1;
        ssize_t ignored = ::write(stop_event_.get(), &one, sizeof one);
        (void)ignored;
        thread_->join();
    }
}

bool Inbox::in_owner_process() const { return owner_pid_ == ::getpid(); }

Result<> Inbox::watch(uint64_t connection, int socket) {
    if (connection == kInboxRingTag || connection == kStopTag)
        return fail(Errc::malformed, "connection id " + std::to_string(connection) + " is reserved");
    // One shot: a hung-up socket stays readable; its one report is all we need.
    epoll_event event{EPOLLRDHUP | EPOLLONESHOT, {.u64 = connection}};
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, socket, &event) != 0)
        return fail_errno("watching a connection's socket");
    return {};
}

void Inbox::unwatch(int socket) { (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, socket, nullptr); }

void Inbox::run() {
    for (;;) {
        epoll_event events[16];
        int n = ::epoll_wait(epoll_.get(), events, std::size(events), -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            LITEIPC_LOG(error, "inbox epoll_wait failed: %s", std::strerror(errno));
            return;
        }
        {
            // Handlers run here may hold the last reference to what owns the inbox (a service
            // whose owner let go meanwhile). Held across them, this reference is then the last
            // one, and its release below is the one place this thread may destroy its owner.
            auto owner = keep_alive_();
            if (!owner) return;  // being destroyed on another thread, which joins this one
            for (int i = 0; i < n; ++i) {
                const uint64_t tag = events[i].data.u64;
                if (tag == kStopTag) return;
                if (tag == kInboxRingTag) {
                    if (auto consumed = ring_.consume(); !consumed)
                        LITEIPC_LOG(warn, "inbox: %s", consumed.error().describe().c_str());
                } else {
                    on_hangup_(tag);  // a connection's socket, tagged with its conn_id
                }
            }
        }
        if (t_inbox_owner_ended) return;
    }
}

}  // namespace liteipc
