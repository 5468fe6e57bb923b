// The C++ service of IPlainTypes.idl: what peers/plain_types_service.c does in C, so one set of
// round trips checks both (idl_pairings_test.cpp).
#pragma once

#include <unistd.h>

#include <mutex>
#include <string>

#include "ilistener.h"
#include "iplain_types.h"

namespace OHOS::Test {

class PlainTypesService final : public PlainTypesStub {
public:
    explicit PlainTypesService(liteipc::Context& context) : context_(context) {}

    liteipc::Result<bool> EchoBoolean(bool v) override { return v; }
    liteipc::Result<int8_t> EchoByte(int8_t v) override { return v; }
    liteipc::Result<int16_t> EchoShort(int16_t v) override { return v; }
    liteipc::Result<int32_t> EchoInt(int32_t v) override { return v; }
    liteipc::Result<int64_t> EchoLong(int64_t v) override { return v; }
    liteipc::Result<float> EchoFloat(float v) override { return v; }
    liteipc::Result<double> EchoDouble(double v) override { return v; }
    liteipc::Result<std::string> EchoString(const std::string& v) override { return v; }
    liteipc::Result<std::vector<uint8_t>> EchoBytes(liteipc::idl::ByteView v) override {
        return std::vector<uint8_t>(v.begin(), v.end());
    }
    liteipc::Result<int64_t> SumBytes(liteipc::idl::ByteView data) override {
        int64_t sum = 0;
        for (uint8_t byte : data) sum += byte;  // read in place
        return sum;
    }
    liteipc::Result<std::vector<int64_t>> EchoLongs(const std::vector<int64_t>& v) override { return v; }
    liteipc::Result<std::vector<std::string>> EchoStrings(const std::vector<std::string>& v) override { return v; }
    liteipc::Result<std::unordered_map<std::string, int32_t>> EchoMap(
        const std::unordered_map<std::string, int32_t>& v) override {
        return v;
    }
    liteipc::Result<> Split(int64_t value, int32_t& high, int32_t& low) override {
        high = static_cast<int32_t>(static_cast<uint64_t>(value) >> 32);
        low = static_cast<int32_t>(value & 0xffffffff);
        return {};
    }
    liteipc::Result<> Twice(int32_t& value, std::string& text, std::vector<int32_t>& numbers) override {
        value *= 2;
        text += text;
        for (auto& n : numbers) n *= 2;
        return {};
    }
    liteipc::Result<std::string> ReadFd(liteipc::idl::FileDescriptor fd) override {
        char text[64];
        const ssize_t got = ::read(fd.fd, text, sizeof text);
        ::close(fd.fd);  // a received fd is the receiver's
        if (got < 0) return liteipc::fail_errno("read the passed fd");
        return std::string(text, static_cast<size_t>(got));
    }
    liteipc::Result<int32_t> CallListener(const liteipc::idl::ServiceRef<IListener>& listener, int32_t value) override {
        auto proxy = ListenerProxy::open(context_, listener);
        if (!proxy) return std::unexpected(proxy.error());
        return proxy->OnValue(value);
    }
    liteipc::Result<> Fail(int32_t code) override { return liteipc::fail(static_cast<liteipc::Errc>(code), "asked to fail"); }
    liteipc::Result<> Note(const std::string& text) override {
        std::lock_guard lock(mutex_);
        note_ = text;
        return {};
    }
    liteipc::Result<std::string> LastNote() override {
        std::lock_guard lock(mutex_);
        return note_;
    }

private:
    liteipc::Context& context_;
    std::mutex mutex_;
    std::string note_;
};

}  // namespace OHOS::Test
