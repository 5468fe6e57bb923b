// The service manager's state: what the loader keeps beside the services and grants maps so that
// a death or an unregister finds what to remove in memory. service_manager.cpp acts on it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/mapping.h"
#include "liteipc_abi.h"

namespace liteipc::loader {

struct ServiceBook {
    struct ServiceOwner {
        uint32_t owner_slot;
        uint64_t owner_generation;
        uid_t owner_uid;
    };
    // A grant lasts as long as the process that made it: a reference passed on (OBJ_SVC) is not
    // worth more than its giver's own. The pinned grant records its grantor too (liteipc_grant), so
    // a loader that starts drops the grants of grantors that died while none ran.
    static constexpr uint32_t kUnknownGrantor = LITEIPC_UNKNOWN_GRANTOR;
    struct GrantRecord {
        uid_t grantor_uid;  // whose quota it counts against
        uint32_t grantor_slot = kUnknownGrantor;
        uint64_t grantor_generation = 0;
    };
    using GrantKey = std::tuple<uint32_t, uint32_t, uint32_t, uint64_t>;  // handle, kind, id, generation
    // A pid grant to a process not registered yet: bound to that process by a pidfd, it becomes a
    // slot grant when the process registers, and is void once the process exits.
    struct WaitingGrant {
        uint32_t handle;
        pid_t host_pid;
        detail::UniqueFd pidfd;
        uid_t grantor_uid;
        uint32_t grantor_slot = kUnknownGrantor;
        uint64_t grantor_generation = 0;
    };

    // A topic's record beside the pinned one (liteipc_topic): while it has no publisher it is kept
    // for `subscribed`, the processes that subscribed to it and are still registered, and dropped
    // when the last of them goes. It counts against its creator's service quota while vacant.
    struct TopicRecord {
        uint32_t topic_id = 0;
        uint32_t publisher_handle = 0;  // 0: vacant
        uid_t creator_uid = 0;
        std::set<std::pair<uint32_t, uint64_t>> subscribed;  // slot, generation
    };

    std::map<uint32_t, ServiceOwner> services;  // by handle
    std::map<std::string, TopicRecord> topics;  // by name
    std::map<GrantKey, GrantRecord> grants;
    std::vector<WaitingGrant> waiting_grants;

    std::size_t services_of(uid_t uid) const {
        std::size_t n = 0;
        for (const auto& [handle, record] : services) n += record.owner_uid == uid;
        for (const auto& [name, topic] : topics) n += topic.publisher_handle == 0 && topic.creator_uid == uid;
        return n;
    }
    // Grants made and grants waiting for their grantee, both counted against the grantor.
    std::size_t grants_of(uid_t uid) const {
        std::size_t n = 0;
        for (const auto& [key, record] : grants) n += record.grantor_uid == uid;
        for (const auto& waiting : waiting_grants) n += waiting.grantor_uid == uid;
        return n;
    }
};

}  // namespace liteipc::loader
