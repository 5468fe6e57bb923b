// atomic8: the physical limit of a busy round trip on this machine, not a peer.
//
// One 8-byte word each way, each on its own cache line: the client stores the sequence number in
// its word, the server spins until it sees it and answers in its own word. A round trip is two
// cache-line transfers between the pinned CPUs and nothing else; no transport that carries a
// payload can be faster. It carries no payload, so it runs only beside the busy 64 B row, and its
// stream is a run of such round trips (it has no queue).
#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <new>

#include "sys.h"
#include "transport.h"

namespace liteipc::bench {
namespace {

struct Words {
    alignas(64) std::atomic<std::uint64_t> request;  // written by the client
    alignas(64) std::atomic<std::uint64_t> reply;    // written by the server
};

// The request word's value that asks the server to return.
constexpr std::uint64_t kStop = ~std::uint64_t{0};

class Atomic8Transport final : public Transport {
public:
    ~Atomic8Transport() override { teardown(); }

    std::string_view name() const override { return kAtomic8; }

    std::optional<std::string> unsupported(Regime regime, std::size_t payload) const override {
        if (regime != Regime::busy) return "spins by definition (beside the busy rows only)";
        if (payload > 64) return "one 8-byte word each way: shown beside the 64 B row only";
        return std::nullopt;
    }

    Result<> setup(const JobSpec&) override {
        void* p = mmap(nullptr, sizeof(Words), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED) return fail_errno("mmap of the shared words");
        words_ = new (p) Words{};
        return {};
    }

    Result<> serve() override {
        std::uint64_t seen = 0;
        for (;;) {
            Spinner spinner;
            std::uint64_t now;
            while ((now = words_->request.load(std::memory_order_acquire)) == seen) spinner.pause();
            if (now == kStop) return {};
            seen = now;
            words_->reply.store(now, std::memory_order_release);
        }
    }

    Result<> connect() override { return {}; }

    Result<> round_trip(std::uint64_t seq) override {
        words_->request.store(seq, std::memory_order_release);
        Spinner spinner;
        while (words_->reply.load(std::memory_order_acquire) != seq) spinner.pause();
        return {};
    }

    Result<> stream(std::uint64_t first_seq, std::uint64_t count) override {
        for (std::uint64_t i = 0; i < count; ++i)
            if (auto r = round_trip(first_seq + i); !r) return r;
        return {};
    }

    Result<> stop() override {
        words_->request.store(kStop, std::memory_order_release);
        return {};
    }

    void teardown() override {
        if (words_ != nullptr) munmap(words_, sizeof(Words));
        words_ = nullptr;
    }

private:
    Words* words_ = nullptr;
};

}  // namespace

std::unique_ptr<Transport> make_atomic8_transport() { return std::make_unique<Atomic8Transport>(); }

}  // namespace liteipc::bench
