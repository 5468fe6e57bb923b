// The channel broker's state: connections whose two halves are not both in yet, each with the
// deadline after which the half still waiting is told Errc::timed_out. channel_broker.cpp acts on it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>

#include "common/mapping.h"

namespace liteipc::loader {

struct ChannelBroker {
    struct PendingChannel {
        int client_socket = -1;
        uint64_t client_request_id = 0;
        detail::UniqueFd ctrl, request_pool;
        int service_socket = -1;
        uint64_t service_request_id = 0;
        detail::UniqueFd reply_pool;
        uid_t client_uid = 0, service_uid = 0;  // whose pending quota each half counts against
        std::chrono::steady_clock::time_point deadline;
    };

    std::map<uint64_t, PendingChannel> pending;  // by conn_id
    detail::UniqueFd timer;  // a timerfd armed for the earliest deadline

    std::size_t pending_halves_of(uid_t uid) const {
        std::size_t n = 0;
        for (const auto& [id, p] : pending)
            n += (p.client_socket >= 0 && p.client_uid == uid) + (p.service_socket >= 0 && p.service_uid == uid);
        return n;
    }
};

}  // namespace liteipc::loader
