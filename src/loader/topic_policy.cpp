// Topics' publisher policies: who may register a topic's name. A topic has one publisher, the owner
// of the service of its name; its record (the pinned `topics` map, and book_.topics beside it) is
// made by the first registration and outlives the publisher while a process that was subscribed
// then is still registered, so that nobody the policy does not admit can take the name in the
// meantime and feed the subscribers. The connect program checks the same record at every subscribe.
#include <cstring>

#include "daemon.h"
#include "common/log.h"

namespace liteipc::loader {
using detail::ControlOp;
using detail::ControlReply;
using detail::ControlRequest;

namespace {

std::string describe_policy(uint32_t policy, uint32_t uid_min, uint32_t uid_max, uid_t creator) {
    switch (policy) {
        case LITEIPC_POLICY_SAME_UID: return "same-uid (uid " + std::to_string(creator) + ")";
        case LITEIPC_POLICY_ANYONE: return "anyone";
        case LITEIPC_POLICY_UID_LIST: return "uid-list";
        case LITEIPC_POLICY_UID_RANGE: return "uid-range " + std::to_string(uid_min) + ".." + std::to_string(uid_max);
        default: return "pids";
    }
}

}  // namespace

// The same rule as the kernel's admits() (policy.bpf.h), for the registration the loader decides.
bool Daemon::publisher_admitted(const liteipc_topic& topic, uid_t uid, uint32_t slot, uint64_t generation) const {
    if (uid == topic.creator_uid) return true;  // whoever made the topic may always publish on it again
    if (book_.grants.contains({topic.topic_id, LITEIPC_GRANT_PUB_PID, slot, generation})) return true;
    switch (topic.policy) {
        case LITEIPC_POLICY_ANYONE: return true;
        case LITEIPC_POLICY_SAME_UID: return uid == topic.creator_uid;
        case LITEIPC_POLICY_UID_RANGE: return uid >= topic.uid_min && uid <= topic.uid_max;
        case LITEIPC_POLICY_UID_LIST: return book_.grants.contains({topic.topic_id, LITEIPC_GRANT_PUB_UID, uid, 0});
        default: return false;
    }
}

std::optional<ControlReply> Daemon::check_publisher(const ClientSocket& client, const ControlRequest& request) {
    const bool topic_mode = is_topic_mode(request.mode);
    if (topic_mode && request.publisher_policy > LITEIPC_POLICY_PIDS)
        return refuse(Errc::invalid_argument, EINVAL, "unknown publisher policy");
    if (topic_mode && request.publisher_policy == LITEIPC_POLICY_UID_RANGE &&
        request.publisher_uid_min > request.publisher_uid_max)
        return refuse(Errc::invalid_argument, EINVAL, "publisher uid range is empty");
    auto topic = kernel_->topic(request.name);
    if (!topic) return std::nullopt;
    const std::string policy = describe_policy(topic->policy, topic->uid_min, topic->uid_max, topic->creator_uid);
    if (!publisher_admitted(*topic, client.uid, client.slot, client.generation)) {
        ++refused_.publisher_policy;
        return refuse(Errc::permission_denied, EACCES,
                      std::string("topic '") + request.name + "' admits publishers by " + policy + ": uid " +
                          std::to_string(client.uid) + " (pid " + std::to_string(client.pid) + ") may not publish on it");
    }
    if (!topic_mode)
        return refuse(Errc::already_exists, EEXIST,
                      std::string("'") + request.name + "' is a topic's name: only a publisher may register it");
    if (request.publisher_policy != topic->policy ||
        (topic->policy == LITEIPC_POLICY_UID_RANGE &&
         (request.publisher_uid_min != topic->uid_min || request.publisher_uid_max != topic->uid_max)))
        return refuse(Errc::already_exists, EEXIST,
                      std::string("topic '") + request.name + "' exists with publisher policy " + policy +
                          ": a later publisher asks for the same");
    return std::nullopt;
}

Result<> Daemon::bind_topic(const ClientSocket& client, const ControlRequest& request, uint32_t handle) {
    auto topic = kernel_->topic(request.name);
    if (!topic) {
        auto id = kernel_->next_handle();  // a number no service will have: grants keyed by it stay apart
        if (!id) return std::unexpected(id.error());
        topic = liteipc_topic{};
        topic->topic_id = *id;
        topic->creator_uid = client.uid;
        topic->policy = request.publisher_policy;
        topic->uid_min = request.publisher_uid_min;
        topic->uid_max = request.publisher_uid_max;
        topic->created_ns = kernel_->proc(client.slot).register_ns;
    }
    topic->publisher_handle = handle;
    if (auto ok = kernel_->put_topic(request.name, *topic); !ok) return ok;
    ServiceBook::TopicRecord& record = book_.topics[request.name];
    record.topic_id = topic->topic_id;
    record.publisher_handle = handle;
    record.creator_uid = topic->creator_uid;
    return {};
}

void Daemon::note_subscriber(uint32_t handle, uint32_t slot, uint64_t generation) {
    for (auto& [name, record] : book_.topics)
        if (record.publisher_handle == handle) record.subscribed.emplace(slot, generation);
}

void Daemon::vacate_topic(uint32_t handle) {
    for (auto& [name, record] : book_.topics) {
        if (record.publisher_handle != handle) continue;
        record.publisher_handle = 0;
        if (auto topic = kernel_->topic(name.c_str())) {
            topic->publisher_handle = 0;
            (void)kernel_->put_topic(name.c_str(), *topic);
        }
        LITEIPC_LOG(info, "topic '%s' has no publisher; its record stays while %zu subscribed processes live",
                    name.c_str(), record.subscribed.size());
    }
    drop_unwaited_topics();
}

void Daemon::forget_subscriber(uint32_t slot, uint64_t generation) {
    for (auto& [name, record] : book_.topics) record.subscribed.erase({slot, generation});
    drop_unwaited_topics();
}

void Daemon::drop_unwaited_topics() {
    for (auto it = book_.topics.begin(); it != book_.topics.end();) {
        if (it->second.publisher_handle != 0 || !it->second.subscribed.empty()) {
            ++it;
            continue;
        }
        const uint32_t id = it->second.topic_id;
        kernel_->drop_topic(it->first.c_str());
        std::erase_if(book_.grants, [&](const auto& entry) {
            const auto& [handle, kind, grantee, generation] = entry.first;
            if (handle != id || (kind != LITEIPC_GRANT_PUB_UID && kind != LITEIPC_GRANT_PUB_PID)) return false;
            kernel_->drop_grant(liteipc_grant_key{handle, kind, grantee, 0, generation});
            return true;
        });
        LITEIPC_LOG(info, "topic '%s': no publisher and nobody waiting for one: record dropped", it->first.c_str());
        it = book_.topics.erase(it);
    }
}

void Daemon::rebuild_topics() {
    // After a restart the subscribed are not known: every process registered now may be one, which
    // keeps a vacant record no longer than they live.
    book_.topics.clear();
    std::set<std::pair<uint32_t, uint64_t>> registered;
    for (uint32_t slot = 0; slot < LITEIPC_MAX_PROCS; ++slot)
        if (kernel_->proc(slot).state == LITEIPC_PROC_ALIVE) registered.emplace(slot, kernel_->proc(slot).generation);
    kernel_->for_each_topic([&](const std::string& name, const liteipc_topic& topic) {
        ServiceBook::TopicRecord record{topic.topic_id, topic.publisher_handle, topic.creator_uid, {}};
        if (record.publisher_handle && !book_.services.contains(record.publisher_handle)) record.publisher_handle = 0;
        if (!record.publisher_handle) record.subscribed = registered;
        book_.topics[name] = std::move(record);
    });
    drop_unwaited_topics();
}

ControlReply Daemon::publisher_grant(ClientSocket& client, const ControlRequest& request) {
    auto service = kernel_->service(request.handle);
    if (!service || service->owner_slot != client.slot || service->owner_generation != client.generation)
        return refuse(Errc::permission_denied, EPERM, "only a topic's publisher may change who else may publish on it");
    auto topic = book_.topics.find(std::string(service->name, strnlen(service->name, sizeof service->name)));
    if (topic == book_.topics.end() || topic->second.publisher_handle != request.handle)
        return refuse(Errc::invalid_argument, EINVAL, std::string("'") + service->name + "' is not a topic");
    liteipc_grant_key key{};
    key.handle = topic->second.topic_id;
    if (request.op == ControlOp::add_publisher_pid) {
        // The grant names the process that holds the pid now, and ends with it or with the topic.
        auto slot = kernel_->slot_of(static_cast<pid_t>(request.id));
        if (!slot || kernel_->proc(*slot).state != LITEIPC_PROC_ALIVE || kernel_->proc(*slot).tgid != request.id)
            return refuse(Errc::not_found, ESRCH, "pid " + std::to_string(request.id) + " is not a registered process");
        key.kind = LITEIPC_GRANT_PUB_PID;
        key.id = *slot;
        key.generation = kernel_->proc(*slot).generation;
    } else {
        key.kind = LITEIPC_GRANT_PUB_UID;
        key.id = request.id;
    }
    const ServiceBook::GrantKey record_key{key.handle, key.kind, key.id, key.generation};
    if (book_.grants.contains(record_key)) return {};
    if (client.uid != 0 && config_.quotas.grants && book_.grants_of(client.uid) >= config_.quotas.grants) {
        ++refused_.quota_grants;
        return refuse(Errc::quota_exceeded, EDQUOT,
                      "uid " + std::to_string(client.uid) + " holds its quota of " + std::to_string(config_.quotas.grants) + " grants");
    }
    // Kept with the topic (no grantor): a later publisher is judged by the list its creator made.
    if (auto ok = kernel_->put_grant(key, {0, ServiceBook::kUnknownGrantor, client.uid}); !ok)
        return refuse(Errc::no_memory, ENOSPC, ok.error().describe());
    book_.grants[record_key] = ServiceBook::GrantRecord{client.uid, ServiceBook::kUnknownGrantor, 0};
    LITEIPC_LOG(info, "topic '%s': %s %u may publish", service->name, key.kind == LITEIPC_GRANT_PUB_PID ? "pid" : "uid",
                request.id);
    return {};
}

}  // namespace liteipc::loader
