// A process's membership in liteipc: the connection to liteipc-loader, its slot in the
// kernel-maintained process table, and its inbox of kernel records (deaths, connects).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "liteipc/error.h"
#include "liteipc/export.h"

namespace liteipc {

// The loader a program uses when it names none: LITEIPC_SOCKET and LITEIPC_PIN_ROOT when set and
// not empty, else /run/liteipc/liteipc.sock and /sys/fs/bpf/liteipc. Read when called.
LITEIPC_API std::string default_socket_path();
LITEIPC_API std::string default_pin_root();

struct ContextOptions {
    // A value the program sets wins over the environment.
    std::string socket_path = default_socket_path();
    std::string pin_root = default_pin_root();
    // Default for every blocking call made through this context that is given no timeout.
    std::chrono::milliseconds default_timeout{5000};
};

// A registered process, as the kernel knows it. The generation changes when the process dies or
// closes its context, so a PeerId never names a later process that reuses the pid or the slot.
struct PeerId {
    uint32_t slot = 0;
    uint64_t generation = 0;
    uint32_t pid = 0;
    friend bool operator==(const PeerId&, const PeerId&) = default;
};

// What the kernel recorded about a peer's end.
struct DeathNotice {
    PeerId peer;
    uint32_t uid = 0;
    int32_t exit_status = 0;  // wait(2) status: WIFSIGNALED/WTERMSIG etc. apply
    bool closed = false;      // the peer closed its context rather than dying
    uint64_t timestamp_ns = 0;  // CLOCK_MONOTONIC at the kernel's observation
    bool withdrawn = false;     // the peer, alive, withdrew the service (Connection::on_death only)
};

using DeathCallback = std::function<void(const DeathNotice&)>;

class Context;

// Keeps a death callback registered; destroying it unregisters the callback.
// Thread safety: one thread at a time; its callback may run on the inbox thread meanwhile.
class LITEIPC_API DeathSubscription {
public:
    DeathSubscription() = default;
    DeathSubscription(DeathSubscription&& other) noexcept;
    DeathSubscription& operator=(DeathSubscription&& other) noexcept;
    DeathSubscription(const DeathSubscription&) = delete;
    DeathSubscription& operator=(const DeathSubscription&) = delete;
    ~DeathSubscription();

    uint64_t id() const { return id_; }
    void reset();

private:
    friend class Context;
    struct LITEIPC_HIDDEN Owner;
    DeathSubscription(std::shared_ptr<Owner> owner, uint64_t id) : owner_(std::move(owner)), id_(id) {}
    std::shared_ptr<Owner> owner_;
    uint64_t id_ = 0;
};

// Thread safety: every member may be called from any thread at once; copies share one
// registration per process. Death callbacks run on the context's inbox thread.
class LITEIPC_API Context {
public:
    // Connects to liteipc-loader, registers this process and maps the process table.
    static Result<Context> open(ContextOptions options = {});

    Context(Context&&) noexcept;
    Context& operator=(Context&&) noexcept;
    ~Context();

    PeerId self() const;
    const ContextOptions& options() const;

    // True while the peer is alive: one load from the shared, kernel-written process table.
    bool alive(const PeerId& peer) const;

    // Calls `callback` once, on the context's inbox thread, when `peer` dies or closes its
    // context. If the peer is already gone, calls it at once on this thread before returning.
    Result<DeathSubscription> on_death(const PeerId& peer, DeathCallback callback);

    // The loader's view of the system as a JSON document: processes, services, counters.
    Result<std::string> loader_status() const;

    struct LITEIPC_HIDDEN Impl;
    Impl& impl() const { return *impl_; }

private:
    LITEIPC_HIDDEN explicit Context(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace liteipc
