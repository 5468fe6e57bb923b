#include "log.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdarg>
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

}  // namespace

bool log_enabled(LogLevel level) noexcept {
    static const LogLevel threshold = threshold_from_environment();
    return level >= threshold && level != LogLevel::off;
}

void log_write(LogLevel level, const char* file, int line, const char* format, ...) noexcept {
    // One write per line so lines from concurrent threads and processes do not interleave.
    char buffer[1024];
    const char* base = std::strrchr(file, '/');
    int used = std::snprintf(buffer, sizeof buffer, "liteipc[%d] %s %s:%d: ", static_cast<int>(getpid()),
                             level_name(level), base ? base + 1 : file, line);
    if (used < 0) return;
    if (static_cast<std::size_t>(used) < sizeof buffer) {
        va_list args;
        va_start(args, format);
        int body = std::vsnprintf(buffer + used, sizeof buffer - used, format, args);
        va_end(args);
        if (body > 0) used += body;
    }
    if (static_cast<std::size_t>(used) >= sizeof buffer - 1) used = sizeof buffer - 2;
    buffer[used++] = '\n';
    ssize_t ignored = ::write(STDERR_FILENO, buffer, static_cast<std::size_t>(used));
    (void)ignored;
}

}  // namespace liteipc::detail
