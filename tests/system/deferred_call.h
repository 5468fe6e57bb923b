// What the deferred-call test and its service peer share: the codes the service answers.
#pragma once

#include <cstdint>

namespace liteipc::testing {

// kAnswerLater: int32 n -> int32 2n, uint32 the caller's pid, status 7, answered from another
// thread after the handler returned; kDropLater: kept, then dropped unanswered; kAnswerNow: int32 -1.
enum DeferCode : uint32_t { kAnswerLater = 1, kDropLater = 2, kAnswerNow = 3 };

inline constexpr const char* kDeferServiceName = "defer.svc";

}  // namespace liteipc::testing
