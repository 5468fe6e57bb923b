// Minimal leveled logging: LITEIPC_LOG(warn, "slot %u: bad length %llu", slot, len). Lines go to
// stderr or to the application's handler (liteipc/log.h). The threshold comes from
// LITEIPC_LOG_LEVEL (debug, info, warn, error, off; default warn) or set_log_level(). Lines are
// rate-limited per process, since a hostile peer can provoke a warning per message.
#pragma once

#include "liteipc/log.h"

namespace liteipc::detail {

// The functions are public (liteipc/log.h): libliteipc_skeleton logs through them too.
using liteipc::LogLevel;
using liteipc::log_enabled;
using liteipc::log_write;

}  // namespace liteipc::detail

#define LITEIPC_LOG(level, ...)                                                                       \
    do {                                                                                              \
        if (::liteipc::detail::log_enabled(::liteipc::detail::LogLevel::level))                       \
            ::liteipc::detail::log_write(::liteipc::detail::LogLevel::level, __FILE__, __LINE__,       \
                                         __VA_ARGS__);                                                \
    } while (0)
