#include "common/log.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <cstdarg>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace liteipc::detail {
namespace {

LogLevel threshold_from_environment() noexcept {
    const char* value = std::getenv("LITEIPC_LOG_LEVEL");
    if (value == nullptr) return LogLevel::warn;
    if (std::strcmp(value, "debug") == 0) return LogLevel::debug;
    if (std::strcmp(value, "info") == 0) return LogLevel::info;
    if (std::strcmp(value, "error") == 0) return LogLevel::error;
    if (std::strcmp(value, "off") == 0) return LogLevel::off;
    return LogLevel::warn;
}

const char* level_name(LogLevel level) noexcept {
    switch (level) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warn";
        case LogLevel::error: return "error";
        case LogLevel::off: break;
    }
    return "?";
}

// A peer scribbling over shared memory can provoke a warning per message: at most kLinesPerSecond
// lines per second per process, and the count of the ones dropped on the next line that gets through.
constexpr uint32_t kLinesPerSecond = 20;
std::atomic<int64_t> current_second{0};
std::atomic<uint32_t> lines_this_second{0};
std::atomic<uint64_t> suppressed_lines{0};

bool admit_line(uint64_t& suppressed_before) noexcept {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    int64_t second = current_second.load(std::memory_order_relaxed);
    if (now.tv_sec != second && current_second.compare_exchange_strong(second, now.tv_sec)) {
        lines_this_second.store(0, std::memory_order_relaxed);
    }
    if (lines_this_second.fetch_add(1, std::memory_order_relaxed) >= kLinesPerSecond) {
        suppressed_lines.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    suppressed_before = suppressed_lines.exchange(0, std::memory_order_relaxed);
    return true;
}

std::atomic<LogLevel>& threshold() noexcept {
    static std::atomic<LogLevel> level{threshold_from_environment()};
    return level;
}

// The application's handler, if any. Held by shared_ptr so a line being written keeps the
// handler it started with alive while another thread replaces it.
std::mutex handler_mutex;
std::shared_ptr<const LogHandler> handler;

std::shared_ptr<const LogHandler> current_handler() {
    std::lock_guard lock(handler_mutex);
    return handler;
}

}  // namespace
}  // namespace liteipc::detail

namespace liteipc {

bool log_enabled(LogLevel level) noexcept {
    return level >= detail::threshold().load(std::memory_order_relaxed) && level != LogLevel::off;
}

void log_write(LogLevel level, const char* file, int line, const char* format, ...) noexcept {
    // One write per line so lines from concurrent threads and processes do not interleave.
    uint64_t suppressed = 0;
    if (!detail::admit_line(suppressed)) return;
    char buffer[1024];
    const char* base = std::strrchr(file, '/');
    int used = suppressed == 0
                   ? std::snprintf(buffer, sizeof buffer, "liteipc[%d] %s %s:%d: ", static_cast<int>(getpid()),
                                   detail::level_name(level), base ? base + 1 : file, line)
                   : std::snprintf(buffer, sizeof buffer, "liteipc[%d] (%llu lines suppressed) %s %s:%d: ",
                                   static_cast<int>(getpid()), static_cast<unsigned long long>(suppressed),
                                   detail::level_name(level), base ? base + 1 : file, line);
    if (used < 0) return;
    if (static_cast<std::size_t>(used) < sizeof buffer) {
        va_list args;
        va_start(args, format);
        int body = std::vsnprintf(buffer + used, sizeof buffer - used, format, args);
        va_end(args);
        if (body > 0) used += body;
    }
    if (static_cast<std::size_t>(used) >= sizeof buffer - 1) used = sizeof buffer - 2;
    if (auto routed = detail::current_handler()) {
        // The application's logger knows its own process and time: give it the line from the level on.
        std::string_view line(buffer, static_cast<std::size_t>(used));
        std::size_t from = line.find(' ');
        try {
            (*routed)(level, from == std::string_view::npos ? line : line.substr(from + 1));
        } catch (...) {
            // A logger that throws must not take the data plane down with it.
        }
        return;
    }
    buffer[used++] = '\n';
    ssize_t ignored = ::write(STDERR_FILENO, buffer, static_cast<std::size_t>(used));
    (void)ignored;
}

void set_log_handler(LogHandler handler) {
    auto next = handler ? std::make_shared<const LogHandler>(std::move(handler)) : nullptr;
    std::lock_guard lock(detail::handler_mutex);
    detail::handler = std::move(next);
}

void set_log_level(LogLevel level) noexcept { detail::threshold().store(level, std::memory_order_relaxed); }

}  // namespace liteipc
