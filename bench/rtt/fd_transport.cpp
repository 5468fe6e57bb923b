// Peers that move bytes through the kernel: AF_UNIX SOCK_SEQPACKET, AF_UNIX SOCK_STREAM, pipes.
//
// The sender fills a private buffer and writes it; the receiver reads into a private buffer
// and checks it: two copies per message, which is what these transports cost.
//
//   busy      the receiver polls: recv(MSG_DONTWAIT) / read on an O_NONBLOCK pipe, spinning
//             on EAGAIN
//   blocking  plain blocking recv/read
//
// SEQPACKET keeps message boundaries but a datagram must fit the send buffer: buffers are raised
// (SO_SNDBUF, SO_SNDBUFFORCE when permitted) and larger payloads go as several datagrams; the
// receiver reads datagrams until it has the whole payload.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "payload.h"
#include "sys.h"
#include "transport.h"

namespace liteipc::bench {
namespace {

enum class Kind { seqpacket, stream, pipe };

constexpr int kSocketBuffer = 32 << 20;   // asked for; the kernel caps it (wmem_max) unless forced
constexpr int kPipeBuffer = 1 << 20;      // default /proc/sys/fs/pipe-max-size
constexpr std::size_t kMaxDatagram = 4u << 20;  // larger single datagrams fail with ENOBUFS

// A move-only fd.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    ~Fd() { reset(); }
    int get() const noexcept { return fd_; }
    void reset() noexcept {
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

// One endpoint: where it reads and where it writes (the same fd for sockets).
struct Endpoint {
    Fd in;
    Fd out;  // invalid for sockets: `in` is used both ways
    int read_fd() const { return in.get(); }
    int write_fd() const { return out.get() >= 0 ? out.get() : in.get(); }
};

class FdTransport final : public Transport {
public:
    explicit FdTransport(Kind kind) : kind_(kind) {}
    ~FdTransport() override { teardown(); }

    std::string_view name() const override {
        switch (kind_) {
            case Kind::seqpacket: return kUnixSeqpacket;
            case Kind::stream: return "unix-stream";
            case Kind::pipe: return "pipe";
        }
        return "?";
    }

    std::optional<std::string> unsupported(Regime, std::size_t) const override { return std::nullopt; }

    Result<> setup(const JobSpec& job) override {
        payload_ = job.payload;
        busy_ = job.regime == Regime::busy;
        if (kind_ == Kind::pipe) {
            int req[2], rep[2];
            if (pipe2(req, O_CLOEXEC) != 0) return fail_errno("pipe2 (requests)");
            if (pipe2(rep, O_CLOEXEC) != 0) {
                close(req[0]);
                close(req[1]);
                return fail_errno("pipe2 (replies)");
            }
            server_ = Endpoint{Fd(req[0]), Fd(rep[1])};
            client_ = Endpoint{Fd(rep[0]), Fd(req[1])};
            for (int fd : {req[0], rep[0]}) fcntl(fd, F_SETPIPE_SZ, kPipeBuffer);  // best effort
            if (busy_) {
                for (int fd : {req[0], rep[0]}) {
                    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
                        return fail_errno("O_NONBLOCK on a pipe read end");
                }
            }
            chunk_ = payload_;
            return {};
        }

        int sv[2];
        const int type = kind_ == Kind::seqpacket ? SOCK_SEQPACKET : SOCK_STREAM;
        if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) != 0) return fail_errno("socketpair");
        server_ = Endpoint{Fd(sv[0]), Fd()};
        client_ = Endpoint{Fd(sv[1]), Fd()};
        int sndbuf = 0;
        for (int fd : {sv[0], sv[1]}) {
            for (int opt : {SO_SNDBUF, SO_RCVBUF}) {
                const int forced = opt == SO_SNDBUF ? SO_SNDBUFFORCE : SO_RCVBUFFORCE;
                if (setsockopt(fd, SOL_SOCKET, forced, &kSocketBuffer, sizeof kSocketBuffer) != 0)
                    setsockopt(fd, SOL_SOCKET, opt, &kSocketBuffer, sizeof kSocketBuffer);
            }
            socklen_t len = sizeof sndbuf;
            getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len);
        }
        // A datagram must fit the send buffer with room for its overhead (getsockopt reports
        // twice what the kernel accounts for payload); send() halves it further on EMSGSIZE.
        const std::size_t limit = std::max<std::size_t>(4096, static_cast<std::size_t>(sndbuf) / 4 / 4096 * 4096);
        chunk_ = kind_ == Kind::seqpacket ? std::min({payload_, limit, kMaxDatagram}) : payload_;
        return {};
    }

    Result<> serve() override {
        client_ = Endpoint{};
        auto buf = alloc_buffer();
        auto out = alloc_buffer();
        for (;;) {
            if (auto r = read_message(server_, buf.get()); !r) return r;
            const PayloadCheck msg = check_payload(buf.get(), payload_);
            if (!msg.intact) return fail(Errc::malformed, "request payload checksum mismatch");
            Op reply;
            switch (msg.op) {
                case Op::request: reply = Op::reply; break;
                case Op::flush: reply = Op::ack; break;
                case Op::data: continue;
                case Op::stop: return {};
                default: return fail(Errc::malformed, "unexpected op in a request");
            }
            fill_payload(out.get(), payload_, reply, msg.seq);
            if (auto r = write_message(server_, out.get()); !r) return r;
        }
    }

    Result<> connect() override {
        server_ = Endpoint{};
        tx_ = alloc_buffer();
        rx_ = alloc_buffer();
        return {};
    }

    Result<> round_trip(std::uint64_t seq) override {
        fill_payload(tx_.get(), payload_, Op::request, seq);
        if (auto r = write_message(client_, tx_.get()); !r) return r;
        return receive(Op::reply, seq);
    }

    Result<> stream(std::uint64_t first_seq, std::uint64_t count) override {
        for (std::uint64_t i = 0; i < count; ++i) {
            fill_payload(tx_.get(), payload_, i + 1 == count ? Op::flush : Op::data, first_seq + i);
            if (auto r = write_message(client_, tx_.get()); !r) return r;
        }
        return receive(Op::ack, first_seq + count - 1);
    }

    Result<> stop() override {
        fill_payload(tx_.get(), payload_, Op::stop, 0);
        return write_message(client_, tx_.get());
    }

    void teardown() override {
        server_ = Endpoint{};
        client_ = Endpoint{};
        tx_.reset();
        rx_.reset();
    }

private:
    struct FreeDeleter {
        void operator()(unsigned char* p) const noexcept { std::free(p); }
    };
    using Buffer = std::unique_ptr<unsigned char, FreeDeleter>;

    Buffer alloc_buffer() const {
        const std::size_t len = (payload_ + 4095) / 4096 * 4096;
        auto* p = static_cast<unsigned char*>(std::aligned_alloc(4096, len));
        if (p != nullptr) std::memset(p, 0, len);  // fault the pages in before timing
        return Buffer(p);
    }

    Result<> receive(Op op, std::uint64_t seq) {
        if (auto r = read_message(client_, rx_.get()); !r) return r;
        if (!payload_is(check_payload(rx_.get(), payload_), op, seq))
            return fail(Errc::malformed, "reply payload mismatch");
        return {};
    }

    Result<> write_message(const Endpoint& ep, const unsigned char* buf) {
        std::size_t done = 0;
        while (done < payload_) {
            const std::size_t want = std::min(chunk_, payload_ - done);
            const ssize_t n = kind_ == Kind::pipe ? write(ep.write_fd(), buf + done, want)
                                                  : send(ep.write_fd(), buf + done, want, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                // A datagram larger than the kernel will take: EMSGSIZE past the send buffer,
                // ENOBUFS when it cannot allocate one that large.
                if ((errno == EMSGSIZE || errno == ENOBUFS) && kind_ == Kind::seqpacket && chunk_ > 4096) {
                    chunk_ /= 2;
                    continue;
                }
                return fail_errno(std::string(name()) + ": write");
            }
            done += static_cast<std::size_t>(n);
        }
        return {};
    }

    Result<> read_message(const Endpoint& ep, unsigned char* buf) {
        std::size_t done = 0;
        Spinner spinner;
        while (done < payload_) {
            const ssize_t n = kind_ == Kind::pipe
                                  ? read(ep.read_fd(), buf + done, payload_ - done)
                                  : recv(ep.read_fd(), buf + done, payload_ - done, busy_ ? MSG_DONTWAIT : 0);
            if (n > 0) {
                done += static_cast<std::size_t>(n);
                continue;
            }
            if (n == 0) return fail(Errc::dead_object, std::string(name()) + ": peer closed");
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                spinner.pause();
                continue;
            }
            if (errno == EINTR) continue;
            return fail_errno(std::string(name()) + ": read");
        }
        return {};
    }

    Kind kind_;
    std::size_t payload_ = 0;
    std::size_t chunk_ = 0;
    bool busy_ = false;
    Endpoint server_;
    Endpoint client_;
    Buffer tx_;
    Buffer rx_;
};

}  // namespace

std::unique_ptr<Transport> make_unix_seqpacket_transport() { return std::make_unique<FdTransport>(Kind::seqpacket); }
std::unique_ptr<Transport> make_unix_stream_transport() { return std::make_unique<FdTransport>(Kind::stream); }
std::unique_ptr<Transport> make_pipe_transport() { return std::make_unique<FdTransport>(Kind::pipe); }

}  // namespace liteipc::bench
