// Minimal leveled logging: LITEIPC_LOG(warn, "slot %u: bad length %llu", slot, len). Lines go to
// stderr or to the application's handler (liteipc/log.h). The threshold comes from
// LITEIPC_LOG_LEVEL (debug, info, warn, error, off; default warn) or set_log_level(). Lines are
// rate-limited per process, since a hostile peer can provoke a warning per message.
#pragma once

#include "liteipc/log.h"

namespace liteipc::detail {

using liteipc::LogLevel;

bool log_enabled(LogLevel level) noexcept;
void log_write(LogLevel level, const char* file, int line, const char* format, ...) noexcept
    __attribute__((format(printf, 4, 5)));

}  // namespace liteipc::detail

#define LITEIPC_LOG(level, ...)                                                                       \
    do {                                                                                              \
        if (::liteipc::detail::log_enabled(::liteipc::detail::LogLevel::level))                       \
            ::liteipc::detail::log_write(::liteipc::detail::LogLevel::level, __FILE__, __LINE__,       \
                                         __VA_ARGS__);                                                \
    } while (0)
