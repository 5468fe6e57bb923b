// `liteipc monitor --topic NAME`: subscribes to a topic (latest-N, so a slow terminal never holds
// the publisher back) and prints each sample's sequence, size, age and first bytes, and the samples
// dropped for it. Unlike the other commands it registers with the loader: a subscribe is a connect,
// checked by the kernel against the topic's subscriber policy.
#include "topic_monitor.h"

#include <csignal>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

#include "liteipc/topic.h"

namespace liteipc::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

uint64_t monotonic_ns() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return uint64_t(now.tv_sec) * 1'000'000'000u + uint64_t(now.tv_nsec);
}

std::string hex_prefix(std::span<const std::byte> bytes, std::size_t most) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < bytes.size() && i < most; ++i) {
        out += digits[uint8_t(bytes[i]) >> 4];
        out += digits[uint8_t(bytes[i]) & 15];
    }
    return out;
}

}  // namespace

int run_topic_monitor(const TopicMonitorOptions& options) {
    auto context = open_context(options.address, options.timeout);
    if (!context) {
        std::fprintf(stderr, "liteipc: monitor: %s\n", context.error().describe().c_str());
        return context.error().code == Errc::loader_unavailable ? 3 : 1;
    }
    auto subscriber = Subscriber::open(*context, options.topic, {.depth = 64, .max_held = 1});
    if (!subscriber) {
        std::fprintf(stderr, "liteipc: monitor: %s\n", subscriber.error().describe().c_str());
        const Errc code = subscriber.error().code;
        return code == Errc::permission_denied ? 4 : code == Errc::not_found ? 5 : 1;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    if (!options.json) std::printf("%-10s %-8s %-10s %-8s %s\n", "SEQUENCE", "BYTES", "AGE_US", "DROPPED", "FIRST BYTES");
    std::fflush(stdout);
    long printed = 0;
    while (!g_stop && (options.max_events == 0 || printed < options.max_events)) {
        auto sample = subscriber->take(std::chrono::milliseconds(200));
        if (!sample) {
            if (sample.error().code == Errc::timed_out) continue;
            std::fprintf(stderr, "liteipc: monitor: %s\n", sample.error().describe().c_str());
            return 1;
        }
        const uint64_t now = monotonic_ns();
        const uint64_t age_us = now > sample->publish_ns() ? (now - sample->publish_ns()) / 1000 : 0;
        const std::string first = hex_prefix(sample->data(), 16);
        if (options.json) {
            nlohmann::json line = {{"topic", options.topic},        {"sequence", sample->sequence()},
                                   {"bytes", sample->data().size()}, {"age_us", age_us},
                                   {"dropped", subscriber->dropped()}, {"first_bytes", first}};
            std::printf("%s\n", line.dump().c_str());
        } else {
            std::printf("%-10llu %-8zu %-10llu %-8llu %s\n", static_cast<unsigned long long>(sample->sequence()),
                        sample->data().size(), static_cast<unsigned long long>(age_us),
                        static_cast<unsigned long long>(subscriber->dropped()), first.c_str());
        }
        std::fflush(stdout);
        ++printed;
    }
    return 0;
}

}  // namespace liteipc::cli
