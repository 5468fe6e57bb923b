// The test service of IAllTypes.idl: each method answers what the round-trip tests check.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <vector>

#include "iall_types.h"
#include "icallback.h"
#include "ilistener.h"

namespace OHOS::Test {

// Answers OnValue with three times the value, and remembers who called (the kernel's word).
class TripleListener final : public ListenerStub {
public:
    liteipc::Result<int32_t> OnValue(int32_t value) override {
        last_caller_pid_ = liteipc::idl::current_call()->caller().pid;
        return value * 3;
    }
    uint32_t last_caller_pid() const { return last_caller_pid_; }

private:
    std::atomic<uint32_t> last_caller_pid_{0};
};

class AllTypesService final : public AllTypesStub {
public:
    explicit AllTypesService(liteipc::Context& context) : context_(context) {}
    ~AllTypesService() override {
        for (int fd : returned_fds_) ::close(fd);
    }
    // The listener Self() returns a reference to.
    void set_own_listener(const liteipc::Service& service) { own_listener_ = liteipc::idl::reference_to<IListener>(service); }

    liteipc::Result<bool> EchoBoolean(bool v) override { return v; }
    liteipc::Result<int8_t> EchoByte(int8_t v) override { return v; }
    liteipc::Result<int16_t> EchoShort(int16_t v) override { return v; }
    liteipc::Result<int32_t> EchoInt(int32_t v) override { return v; }
    liteipc::Result<int64_t> EchoLong(int64_t v) override { return v; }
    liteipc::Result<float> EchoFloat(float v) override { return v; }
    liteipc::Result<double> EchoDouble(double v) override { return v; }
    liteipc::Result<std::string> EchoString(const std::string& v) override { return v; }
    liteipc::Result<std::vector<int32_t>> EchoIntArray(const std::vector<int32_t>& v) override { return v; }
    liteipc::Result<std::vector<uint8_t>> EchoBytes(liteipc::idl::ByteView v) override {
        return std::vector<uint8_t>(v.begin(), v.end());
    }
    liteipc::Result<int64_t> SumBytes(liteipc::idl::ByteView data) override {
        int64_t sum = 0;
        for (uint8_t byte : data) sum += byte;  // read in place
        return sum;
    }
    liteipc::Result<std::vector<std::string>> EchoList(const std::vector<std::string>& v) override { return v; }
    liteipc::Result<std::unordered_map<std::string, int32_t>> EchoMap(
        const std::unordered_map<std::string, int32_t>& v) override {
        return v;
    }
    liteipc::Result<std::unordered_map<int32_t, std::vector<std::string>>> EchoNested(
        const std::unordered_map<int32_t, std::vector<std::string>>& v) override {
        return v;
    }
    liteipc::Result<Point> EchoPoint(const Point& v) override { return v; }
    liteipc::Result<std::vector<Rect>> EchoRects(const std::vector<Rect>& v) override { return v; }
    liteipc::Result<> Split(int64_t value, int32_t& high, int32_t& low) override {
        high = static_cast<int32_t>(static_cast<uint64_t>(value) >> 32);
        low = static_cast<int32_t>(value & 0xffffffff);
        return {};
    }
    liteipc::Result<> Twice(int32_t& value, std::string& text) override {
        value *= 2;
        text += text;
        return {};
    }
    liteipc::Result<std::string> ReadFd(liteipc::idl::FileDescriptor fd) override {
        char text[64];
        const ssize_t got = ::read(fd.fd, text, sizeof text);
        ::close(fd.fd);  // a received fd is the receiver's
        if (got < 0) return liteipc::fail_errno("read the passed fd");
        return std::string(text, static_cast<size_t>(got));
    }
    liteipc::Result<liteipc::idl::FileDescriptor> OpenPipe(const std::string& text) override {
        int ends[2];
        if (::pipe2(ends, O_CLOEXEC) != 0) return liteipc::fail_errno("pipe");
        const bool written = ::write(ends[1], text.data(), text.size()) == static_cast<ssize_t>(text.size());
        ::close(ends[1]);
        if (!written) {
            ::close(ends[0]);
            return liteipc::fail(liteipc::Errc::system, "pipe write");
        }
        // The reply carries the fd once the method returned: keep it open until then.
        std::lock_guard lock(mutex_);
        returned_fds_.push_back(ends[0]);
        return liteipc::idl::FileDescriptor{ends[0]};
    }
    liteipc::Result<int32_t> Call(const liteipc::idl::ServiceRef<IListener>& listener, int32_t value) override {
        auto proxy = ListenerProxy::open(context_, listener);
        if (!proxy) return std::unexpected(proxy.error());
        return proxy->OnValue(value);
    }
    liteipc::Result<liteipc::idl::ServiceRef<IListener>> Self() override {
        if (!own_listener_) return liteipc::fail(liteipc::Errc::not_found, "no listener");
        return *own_listener_;
    }
    liteipc::Result<> Notify(const liteipc::idl::ServiceRef<ICallback>& callback, const std::string& text) override {
        auto proxy = CallbackProxy::open(context_, callback);
        if (!proxy) return std::unexpected(proxy.error());
        return proxy->OnText("notified: " + text);
    }
    liteipc::Result<> Fail(int32_t code) override {
        return liteipc::fail(static_cast<liteipc::Errc>(code), "asked to fail");
    }

private:
    liteipc::Context& context_;
    std::optional<liteipc::idl::ServiceRef<IListener>> own_listener_;
    std::mutex mutex_;
    std::vector<int> returned_fds_;
};

}  // namespace OHOS::Test
