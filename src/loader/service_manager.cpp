// The service manager (handle 0): names under the ownership policy, access grants, and the
// per-uid quotas on both. The maps are the truth the kernel checks; the records here let a death
// or an unregister find what to remove without walking the maps.
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "daemon.h"
#include "common/log.h"
#include "peer_process.h"

namespace liteipc::loader {
using detail::ControlOp;
using detail::ControlReply;
using detail::ControlRequest;

namespace {

// Service names: 1..255 printable bytes without '/', '"' or backslash, so they can name files and
// appear in JSON as they are.
bool valid_service_name(const char* name, std::size_t capacity) {
    std::size_t length = strnlen(name, capacity);
    if (length == 0 || length >= capacity) return false;
    for (std::size_t i = 0; i < length; ++i) {
        unsigned char c = static_cast<unsigned char>(name[i]);
        if (c < 0x21 || c > 0x7e || c == '/' || c == '"' || c == '\\') return false;
    }
    return true;
}

}  // namespace

void Daemon::rebuild_records() {
    // After a restart: services from the registry, grants that still name a live registration.
    book_.services.clear();
    book_.grants.clear();
    kernel_->for_each_service([&](uint32_t handle, const liteipc_service& s) {
        book_.services[handle] = ServiceBook::ServiceOwner{s.owner_slot, s.owner_generation, s.owner_uid};
    });
    auto registered = [&](uint32_t slot, uint64_t generation) {
        return slot < LITEIPC_MAX_PROCS && kernel_->proc(slot).generation == generation &&
               kernel_->proc(slot).state == LITEIPC_PROC_ALIVE;
    };
    std::set<uint32_t> topic_ids;
    kernel_->for_each_topic([&](const std::string&, const liteipc_topic& t) { topic_ids.insert(t.topic_id); });
    std::vector<liteipc_grant_key> stale;
    kernel_->for_each_grant([&](const liteipc_grant_key& key, const liteipc_grant& grant) {
        // A publisher grant lasts as long as its topic (and a pid one as its grantee).
        if (key.kind == LITEIPC_GRANT_PUB_UID || key.kind == LITEIPC_GRANT_PUB_PID) {
            if (topic_ids.contains(key.handle) && (key.kind == LITEIPC_GRANT_PUB_UID || registered(key.id, key.generation)))
                book_.grants[{key.handle, key.kind, key.id, key.generation}] = ServiceBook::GrantRecord{grant.grantor_uid};
            else
                stale.push_back(key);
            return;
        }
        auto service = book_.services.find(key.handle);
        bool live = service != book_.services.end() &&
                    (key.kind != LITEIPC_GRANT_PID || registered(key.id, key.generation)) &&
                    (grant.grantor_slot == ServiceBook::kUnknownGrantor || registered(grant.grantor_slot, grant.grantor_generation));
        if (!live) {
            stale.push_back(key);
            return;
        }
        book_.grants[{key.handle, key.kind, key.id, key.generation}] =
            ServiceBook::GrantRecord{grant.grantor_uid, grant.grantor_slot, grant.grantor_generation};
    });
    for (const auto& key : stale) kernel_->drop_grant(key);
    kernel_->drop_orphan_traffic_counters();
    rebuild_topics();
}

void Daemon::grant_waiting(const ClientSocket& registered) {
    std::erase_if(book_.waiting_grants, [&](ServiceBook::WaitingGrant& waiting) {
        if (process_exited(waiting.pidfd.get())) return true;  // its process is gone: void
        if (waiting.host_pid != registered.host_pid) return false;
        // The pidfd still runs and has this pid: it is the process that just registered.
        liteipc_grant_key key{waiting.handle, LITEIPC_GRANT_PID, registered.slot, 0, registered.generation};
        if (kernel_->put_grant(key, {waiting.grantor_generation, waiting.grantor_slot, waiting.grantor_uid}))
            book_.grants[{key.handle, key.kind, key.id, key.generation}] =
                ServiceBook::GrantRecord{waiting.grantor_uid, waiting.grantor_slot, waiting.grantor_generation};
        return true;
    });
}

void Daemon::enforce_name_policy(const char* when) {
    // The only word a direct service's clients hear from the loader is the death of the owner's
    // registration (its data plane is shared memory between the two): so the owner's registration
    // ends, all its names with it, and each client sees a death and sends it nothing more.
    std::map<uint32_t, uint64_t> owners;  // slot -> generation
    kernel_->for_each_service([&](uint32_t handle, const liteipc_service& s) {
        const liteipc_proc& owner = kernel_->proc(s.owner_slot);
        if (owner.state != LITEIPC_PROC_ALIVE || owner.generation != s.owner_generation) return;
        std::string name(s.name, strnlen(s.name, sizeof s.name));
        if (config_.names.may_own(name, s.owner_uid, groups_of(static_cast<pid_t>(owner.tgid), owner.gid))) return;
        ++refused_.withdrawn_by_name_policy;
        LITEIPC_LOG(warn, "%s: service '%s' (handle %u) withdrawn: the name policy no longer gives it to uid %u; "
                    "the registration of its owner, pid %u, ends", when, name.c_str(), handle, s.owner_uid, owner.tgid);
        owners[s.owner_slot] = s.owner_generation;
    });
    for (const auto& [slot, generation] : owners) {
        if (!kernel_->close_proc(slot, generation)) continue;
        kernel_->drop_inbox(slot);
        release_holdings_of(slot, generation);
    }
}

void Daemon::forget_service(uint32_t handle) {
    book_.services.erase(handle);
    kernel_->drop_traffic_counters(handle);
    std::erase_if(book_.waiting_grants, [&](const ServiceBook::WaitingGrant& waiting) { return waiting.handle == handle; });
    for (auto it = book_.grants.begin(); it != book_.grants.end();) {
        if (std::get<0>(it->first) != handle) {
            ++it;
            continue;
        }
        const auto& [h, kind, id, generation] = it->first;
        kernel_->drop_grant(liteipc_grant_key{h, kind, id, 0, generation});
        it = book_.grants.erase(it);
    }
}

ControlReply Daemon::register_service(ClientSocket& client, const ControlRequest& request, std::vector<UniqueFd>& fds) {
    if (!valid_service_name(request.name, sizeof request.name))
        return refuse(Errc::invalid_argument, EINVAL,
                      "invalid service name: 1..255 printable bytes without '/', '\"' or '\\\\'");
    if (request.policy > LITEIPC_POLICY_PIDS) return refuse(Errc::invalid_argument, EINVAL, "unknown access policy");
    if (request.mode > LITEIPC_SVC_MODE_MEDIATED_TOPIC)
        return refuse(Errc::invalid_argument, EINVAL, "unknown service mode");
    const bool mediated_topic = request.mode == LITEIPC_SVC_MODE_MEDIATED_TOPIC;
    if (mediated_topic && (request.topic_samples == 0 || request.topic_slot_bytes == 0))
        return refuse(Errc::invalid_argument, EINVAL, "a mediated topic names its pool: samples and bytes per slot");
    if (request.policy == LITEIPC_POLICY_UID_RANGE && request.uid_min > request.uid_max)
        return refuse(Errc::invalid_argument, EINVAL, "uid range is empty");
    const liteipc_proc& proc = kernel_->proc(client.slot);
    if (proc.state != LITEIPC_PROC_ALIVE || proc.generation != client.generation)
        return refuse(Errc::dead_object, ESRCH, "pid " + std::to_string(client.pid) + " is not alive");
    if (!config_.names.may_own(request.name, client.uid, groups_of(client.host_pid, client.gid))) {
        ++refused_.name_policy;
        return refuse(Errc::name_not_allowed, EACCES,
                      std::string("the name policy does not give '") + request.name + "' to uid " +
                          std::to_string(client.uid) + ": to allow it, add 'own " + request.name + " by uid:" +
                          std::to_string(client.uid) + "' (or a prefix rule) to " + options_.config_path +
                          " and reload the loader");
    }
    if (auto refused = check_publisher(client, request)) return *refused;
    if (kernel_->handle_of(request.name))
        return refuse(Errc::already_exists, EEXIST, std::string("service name taken: ") + request.name);
    // A vacant topic its creator takes again is counted once.
    auto vacant = book_.topics.find(request.name);
    const std::size_t held = book_.services_of(client.uid) -
                             (vacant != book_.topics.end() && vacant->second.creator_uid == client.uid ? 1 : 0);
    if (client.uid != 0 && config_.quotas.services && held >= config_.quotas.services) {
        ++refused_.quota_services;
        return refuse(Errc::quota_exceeded, EDQUOT,
                      "uid " + std::to_string(client.uid) + " holds its quota of " +
                          std::to_string(config_.quotas.services) + " services");
    }
    if (TableUse services = table_use()[1]; client.uid != 0 && services.full()) {
        ++refused_.reserve_services;
        return refuse_reserved(services);
    }
    auto handle = kernel_->next_handle();
    if (!handle) return refuse(Errc::no_memory, ENOSPC, handle.error().describe());

    liteipc_service service{};
    std::memcpy(service.name, request.name, sizeof service.name);
    service.owner_generation = client.generation;
    service.owner_slot = client.slot;
    service.owner_tgid = static_cast<uint32_t>(client.host_pid);
    service.owner_uid = client.uid;
    service.policy = request.policy;
    service.uid_min = request.uid_min;
    service.uid_max = request.uid_max;
    service.register_ns = proc.register_ns;
    service.mode = request.mode;
    service.contract_hash = request.contract_hash;
    service.interface_hash = request.interface_hash;
    service.interface_version = request.interface_version;
    std::memcpy(service.interface_name, request.interface_name, sizeof service.interface_name);
    service.interface_name[sizeof service.interface_name - 1] = '\0';
    if (mediated_topic) {
        service.topic_samples = request.topic_samples;
        service.topic_slot_bytes = request.topic_slot_bytes;
    }
    if (auto ok = kernel_->put_service(*handle, service); !ok)
        return refuse(ok.error().code == Errc::already_exists ? Errc::already_exists : Errc::kernel,
                      ok.error().code == Errc::already_exists ? EEXIST : EIO, ok.error().describe());
    auto traffic = kernel_->create_traffic_counters(*handle);
    if (!traffic) {
        kernel_->drop_service(*handle, service.name);
        return refuse(Errc::kernel, EIO, traffic.error().describe());
    }
    if (is_topic_mode(request.mode)) {
        if (auto bound = bind_topic(client, request, *handle); !bound) {
            kernel_->drop_service(*handle, service.name);
            return refuse(Errc::kernel, EIO, bound.error().describe());
        }
    }
    fds.push_back(std::move(*traffic));
    book_.services[*handle] = ServiceBook::ServiceOwner{client.slot, client.generation, client.uid};
    LITEIPC_LOG(info, "service '%s' -> handle %u (pid %d, %s)", request.name, *handle, client.host_pid,
                service_mode_name(request.mode));
    ControlReply reply;
    reply.handle = *handle;
    return reply;
}

ControlReply Daemon::unregister_service(ClientSocket& client, const ControlRequest& request) {
    auto service = kernel_->service(request.handle);
    if (!service) return refuse(Errc::not_found, ENOENT, "no service with handle " + std::to_string(request.handle));
    if (service->owner_slot != client.slot || service->owner_generation != client.generation)
        return refuse(Errc::permission_denied, EPERM, "only the owner may unregister service " + std::string(service->name));
    kernel_->drop_service(request.handle, service->name);
    forget_service(request.handle);
    vacate_topic(request.handle);
    return {};
}

ControlReply Daemon::lookup(const ControlRequest& request) {
    auto handle = kernel_->handle_of(request.name);
    if (!handle) return refuse(Errc::not_found, ENOENT, std::string("no service named ") + request.name);
    ControlReply reply;
    reply.handle = *handle;
    if (auto service = kernel_->service(*handle)) {
        reply.peer_slot = service->owner_slot;
        reply.peer_generation = service->owner_generation;
        reply.peer_pid = service->owner_tgid;
        reply.peer_uid = service->owner_uid;
    }
    return reply;
}

ControlReply Daemon::grant(ClientSocket& client, const ControlRequest& request) {
    auto service = kernel_->service(request.handle);
    if (!service) return refuse(Errc::not_found, ENOENT, "no service with handle " + std::to_string(request.handle));
    bool owner = service->owner_slot == client.slot && service->owner_generation == client.generation;
    if (request.op == ControlOp::remove_access || request.op == ControlOp::remove_uid)
        return withdraw(client, request, *service, owner);
    // A reference is a capability: a process that holds one may hand it on (OBJ_SVC), not change
    // the uid list. A handle number it merely knows is no reference.
    if (!owner && (request.op != ControlOp::add_access || !holds_reference(client.slot, client.generation, client.uid,
                                                                            request.handle))) {
        return refuse(Errc::permission_denied, EPERM,
                      "pid " + std::to_string(client.pid) + " holds no reference to " + std::string(service->name) +
                          ": only the owner or a holder may grant access");
    }
    const TableUse grants = table_use()[3];
    auto over_quota = [&] {
        if (client.uid == 0) return false;
        if (grants.full()) return ++refused_.reserve_grants, true;
        if (!config_.quotas.grants || book_.grants_of(client.uid) < config_.quotas.grants) return false;
        ++refused_.quota_grants;
        return true;
    };
    const std::string quota_message = grants.full() ? reserve_message(grants)
                                                    : "uid " + std::to_string(client.uid) + " holds its quota of " +
                                                          std::to_string(config_.quotas.grants) + " grants";
    liteipc_grant_key key{};
    key.handle = request.handle;
    if (request.op == ControlOp::add_access) {
        // The grant goes to the process that holds the pid now, and ends with it.
        auto slot = kernel_->slot_of(static_cast<pid_t>(request.id));
        const liteipc_proc* grantee = slot ? &kernel_->proc(*slot) : nullptr;
        if (!grantee || grantee->state != LITEIPC_PROC_ALIVE || grantee->tgid != request.id) {
            // Not registered yet: bind the grant to the process by a pidfd until it registers.
            if (request.id == 0 || request.id > INT32_MAX)
                return refuse(Errc::invalid_argument, EINVAL, "pid " + std::to_string(request.id) + " is not a pid");
            UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(request.id), 0)));
            if (!pidfd) return refuse(Errc::not_found, ESRCH, "no process with pid " + std::to_string(request.id));
            if (over_quota()) return refuse(Errc::quota_exceeded, EDQUOT, quota_message);
            std::erase_if(book_.waiting_grants, [](const ServiceBook::WaitingGrant& w) { return process_exited(w.pidfd.get()); });
            book_.waiting_grants.push_back(ServiceBook::WaitingGrant{request.handle, static_cast<pid_t>(request.id), std::move(pidfd),
                                                   client.uid, client.slot, client.generation});
            return {};
        }
        key.kind = LITEIPC_GRANT_PID;
        key.id = *slot;
        key.generation = grantee->generation;
    } else {
        key.kind = LITEIPC_GRANT_UID;
        key.id = request.id;
    }
    ServiceBook::GrantKey record_key{key.handle, key.kind, key.id, key.generation};
    if (book_.grants.contains(record_key)) return {};
    if (over_quota()) return refuse(Errc::quota_exceeded, EDQUOT, quota_message);
    if (auto ok = kernel_->put_grant(key, {client.generation, client.slot, client.uid}); !ok)
        return refuse(Errc::no_memory, ENOSPC, ok.error().describe());
    book_.grants[record_key] = ServiceBook::GrantRecord{client.uid, client.slot, client.generation};
    return {};
}

ControlReply Daemon::withdraw(ClientSocket& client, const ControlRequest& request, const liteipc_service& service,
                              bool owner) {
    const bool by_uid = request.op == ControlOp::remove_uid;
    if (by_uid && !owner)
        return refuse(Errc::permission_denied, EPERM, "only the owner may change the uid list of " +
                                                          std::string(service.name));
    auto made_by_asker = [&](const ServiceBook::GrantRecord& record) {
        return owner || (record.grantor_slot == client.slot && record.grantor_generation == client.generation);
    };
    std::size_t withdrawn = 0;
    std::vector<std::pair<uint32_t, uint64_t>> bereft;  // grantees that lost a pid grant
    for (auto it = book_.grants.begin(); it != book_.grants.end();) {
        const auto& [handle, kind, id, generation] = it->first;
        bool match = handle == request.handle && made_by_asker(it->second) &&
                     (by_uid ? kind == LITEIPC_GRANT_UID && id == request.id
                             : kind == LITEIPC_GRANT_PID && id < LITEIPC_MAX_PROCS &&
                                   kernel_->proc(id).tgid == request.id && kernel_->proc(id).generation == generation);
        if (!match) {
            ++it;
            continue;
        }
        kernel_->drop_grant(liteipc_grant_key{handle, kind, id, 0, generation});
        if (kind == LITEIPC_GRANT_PID) bereft.emplace_back(id, generation);
        it = book_.grants.erase(it);
        ++withdrawn;
    }
    for (const auto& [slot, generation] : bereft)
        if (!holds_reference(slot, generation, kernel_->proc(slot).uid, request.handle))
            drop_grants_made_by(slot, generation, request.handle);
    if (!by_uid)
        withdrawn += std::erase_if(book_.waiting_grants, [&](const ServiceBook::WaitingGrant& waiting) {
            return waiting.handle == request.handle && waiting.host_pid == static_cast<pid_t>(request.id) &&
                   (owner || (waiting.grantor_slot == client.slot && waiting.grantor_generation == client.generation));
        });
    if (withdrawn == 0)
        return refuse(Errc::not_found, ENOENT,
                      std::string(by_uid ? "uid " : "pid ") + std::to_string(request.id) + " holds no grant on " +
                          service.name + (owner ? "" : " made by pid " + std::to_string(client.pid)));
    LITEIPC_LOG(info, "service '%s': %s %u withdrawn by pid %d", service.name, by_uid ? "uid" : "pid", request.id,
                client.pid);
    return {};
}

bool Daemon::holds_reference(uint32_t slot, uint64_t generation, uid_t uid, uint32_t handle) const {
    if (book_.grants.contains({handle, LITEIPC_GRANT_PID, slot, generation}) ||
        book_.grants.contains({handle, LITEIPC_GRANT_UID, uid, 0}))
        return true;
    bool connected = false;
    kernel_->for_each_conn([&](uint64_t, const liteipc_conn& conn) {
        connected = connected || (conn.handle == handle && conn.client_slot == slot && conn.client_generation == generation);
    });
    return connected;
}

void Daemon::drop_grants_made_by(uint32_t slot, uint64_t generation, std::optional<uint32_t> only_handle) {
    // What a grantor handed on is worth no more than what it held: a grantee that holds the
    // reference no other way loses what it handed on in turn.
    std::vector<std::tuple<uint32_t, uint32_t, uint64_t>> grantors{{slot, generation, only_handle.value_or(UINT32_MAX)}};
    while (!grantors.empty()) {
        auto [grantor_slot, grantor_generation, handle_filter] = grantors.back();
        grantors.pop_back();
        for (auto it = book_.grants.begin(); it != book_.grants.end();) {
            const auto& [handle, kind, id, grantee_generation] = it->first;
            if (it->second.grantor_slot != grantor_slot || it->second.grantor_generation != grantor_generation ||
                (handle_filter != UINT32_MAX && handle != handle_filter)) {
                ++it;
                continue;
            }
            const uint32_t dropped_handle = handle, grantee = id;
            const uint64_t dropped_generation = grantee_generation;
            const bool by_pid = kind == LITEIPC_GRANT_PID;
            kernel_->drop_grant(liteipc_grant_key{handle, kind, id, 0, grantee_generation});
            it = book_.grants.erase(it);
            if (by_pid && grantee < LITEIPC_MAX_PROCS &&
                !holds_reference(grantee, dropped_generation, kernel_->proc(grantee).uid, dropped_handle))
                grantors.emplace_back(grantee, dropped_generation, dropped_handle);
        }
        std::erase_if(book_.waiting_grants, [&](const ServiceBook::WaitingGrant& waiting) {
            return waiting.grantor_slot == grantor_slot && waiting.grantor_generation == grantor_generation &&
                   (handle_filter == UINT32_MAX || waiting.handle == handle_filter);
        });
    }
}

}  // namespace liteipc::loader
