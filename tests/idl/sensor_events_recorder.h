// ISensorEvents (ISensorEvents.idl, generated with --topic) as the topic tests use it: an
// implementation that records each call with its arguments as bytes, and the calls a test publishes.
// A subscriber's records and those of the same calls made on a local recorder must be equal byte for
// byte, in order.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "isensor_events.h"

namespace OHOS::Test {

class SensorEventsRecorder final : public ISensorEvents {
public:
    liteipc::Result<> OnReading(int32_t sensor, double value, int64_t stamp) override {
        return record("OnReading", sensor, value, stamp);
    }
    liteipc::Result<> OnLabel(int32_t sensor, const std::string& label) override {
        return record("OnLabel", sensor, label);
    }
    liteipc::Result<> OnFrame(int32_t sensor, liteipc::idl::ByteView pixels) override {
        return record("OnFrame", sensor, std::string(pixels.begin(), pixels.end()));
    }
    liteipc::Result<> OnBatch(const std::vector<int64_t>& stamps, const std::unordered_map<std::string, int32_t>& counts,
                              bool last) override {
        std::string text = "OnBatch";
        append(text, static_cast<uint32_t>(stamps.size()));
        for (int64_t stamp : stamps) append(text, stamp);
        // In key order: the map's own order is not part of the call.
        std::vector<std::pair<std::string, int32_t>> sorted(counts.begin(), counts.end());
        std::sort(sorted.begin(), sorted.end());
        append(text, static_cast<uint32_t>(sorted.size()));
        for (const auto& [key, count] : sorted) {
            append(text, key);
            append(text, count);
        }
        append(text, last);
        calls.push_back(std::move(text));
        return {};
    }
    liteipc::Result<> OnArea(const Rect& area) override {
        return record("OnArea", area.corner.x, area.corner.y, area.size.x, area.size.y, area.label);
    }

    std::vector<std::string> calls;  // one record per call, in the order they came

private:
    template <typename T>
    static void append(std::string& text, const T& value) {
        if constexpr (std::is_same_v<T, std::string>) {
            append(text, static_cast<uint32_t>(value.size()));
            text += value;
        } else {
            text.append(reinterpret_cast<const char*>(&value), sizeof value);
        }
    }
    template <typename... T>
    liteipc::Result<> record(const char* method, const T&... values) {
        std::string text = method;
        (append(text, values), ...);
        calls.push_back(std::move(text));
        return {};
    }
};

// Call n of the sequence the tests publish: each method in turn, with arguments of n (byte arrays
// of up to `largest` bytes, on each side of the inline threshold).
inline liteipc::Result<> make_call(ISensorEvents& target, uint32_t n, size_t largest = 3000) {
    const auto sensor = static_cast<int32_t>(n * 7);
    switch (n % 5) {
        case 0: return target.OnReading(sensor, n * 0.25 - 3.5, -static_cast<int64_t>(n) << 33);
        case 1: return target.OnLabel(sensor, "label " + std::to_string(n) + std::string(n % 61, 'x'));
        case 2: {
            std::vector<uint8_t> pixels((n * 131) % (largest + 1));
            for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 31 + n);
            return target.OnFrame(sensor, pixels);
        }
        case 3: {
            std::vector<int64_t> stamps(n % 9);
            for (size_t i = 0; i < stamps.size(); ++i) stamps[i] = static_cast<int64_t>(n * 1000 + i);
            std::unordered_map<std::string, int32_t> counts;
            for (uint32_t i = 0; i < n % 4; ++i) counts["k" + std::to_string(i)] = static_cast<int32_t>(n + i);
            return target.OnBatch(stamps, counts, n % 2 == 0);
        }
        default: return target.OnArea(Rect{{sensor, -sensor}, {static_cast<int32_t>(n), 3}, "area " + std::to_string(n)});
    }
}

// What a subscriber peer (topic_peers.cpp) reports for each receive(): its outcome, then `length`
// bytes of the call's record when it ran one.
struct Delivery {
    int64_t status = 0;  // 0, or the liteipc::Errc receive() returned
    uint64_t length = 0;
};

}  // namespace OHOS::Test
