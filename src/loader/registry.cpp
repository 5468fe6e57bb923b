// Who is asking, and registration of processes into the process table.
//
// An identity is a process, never a pid number. A control socket belongs to the process that
// connected it (SO_PEERPIDFD, taken at accept); a request on it counts only when the message's
// SCM_CREDENTIALS name that same process and the pidfd says it still runs. A slot belongs to the
// process whose start time it recorded at registration.
#include <algorithm>

#include "daemon.h"
#include "common/log.h"
#include "peer_process.h"

namespace liteipc::loader {
using detail::ControlReply;

std::optional<ControlReply> Daemon::check_sender(ClientSocket& client, const detail::ReceivedMessage& message) {
    auto mismatch = [&](const std::string& why) {
        ++refused_.identity;
        return refuse(Errc::identity_mismatch, EPERM, why);
    };
    if (!message.sender_pid) return mismatch("request without credentials");
    if (*message.sender_pid != client.pid)
        return mismatch("request from pid " + std::to_string(*message.sender_pid) + " on a socket pid " +
                        std::to_string(client.pid) + " opened: a control socket is not passed on");
    if (!client.pidfd || client.start_time == 0 || process_exited(client.pidfd.get()))
        return mismatch("pid " + std::to_string(client.pid) +
                        ", which opened this socket, has exited: its sockets act for no one");
    if (client.registered) {
        const liteipc_proc& proc = kernel_->proc(client.slot);
        if (proc.state != LITEIPC_PROC_ALIVE || proc.generation != client.generation)
            return refuse(Errc::dead_object, ESRCH, "the registration of pid " + std::to_string(client.pid) + " ended");
    }
    return std::nullopt;
}

bool Daemon::same_process(uint32_t slot) const {
    const liteipc_proc& proc = kernel_->proc(slot);
    auto start = start_time_of(static_cast<pid_t>(proc.tgid));
    return start && *start == proc.start_time;
}

bool Daemon::attribute(ClientSocket& client) {
    // A registered process may open further sockets for requests that wait (connection setup).
    // The socket's process (alive, checked by check_sender) must be the slot's process.
    auto slot = kernel_->slot_of(client.host_pid);
    if (!slot) return false;
    const liteipc_proc& proc = kernel_->proc(*slot);
    if (proc.state != LITEIPC_PROC_ALIVE || proc.tgid != static_cast<uint32_t>(client.host_pid) ||
        proc.start_time != client.start_time)
        return false;
    client.registered = true;
    client.auxiliary = true;
    client.slot = *slot;
    client.generation = proc.generation;
    return true;
}

ControlReply Daemon::hello(ClientSocket& client, std::vector<UniqueFd>& fds) {
    if (client.registered && !client.auxiliary)
        return refuse(Errc::already_exists, EALREADY, "pid " + std::to_string(client.pid) + " already registered");
    for (const auto& [fd, other] : registry_.clients)
        if (&other != &client && other.registered && !other.auxiliary && other.host_pid == client.host_pid &&
            other.start_time == client.start_time)
            return refuse(Errc::already_exists, EALREADY,
                          "pid " + std::to_string(client.pid) + " is registered through another connection");
    ControlReply reply;
    // A process registered with an earlier loader comes back to the same slot; a slot of an
    // earlier process of the same pid is retired, never handed over.
    if (auto slot = kernel_->slot_of(client.host_pid)) {
        const liteipc_proc& proc = kernel_->proc(*slot);
        if (proc.state == LITEIPC_PROC_ALIVE && proc.tgid == static_cast<uint32_t>(client.host_pid)) {
            if (proc.start_time == client.start_time) {
                auto inbox = kernel_->inbox_of(*slot);
                if (!inbox) return refuse(Errc::not_found, ENOENT, inbox.error().describe());
                fds.push_back(std::move(*inbox));
                client.registered = true;
                client.auxiliary = false;
                client.slot = *slot;
                client.generation = proc.generation;
                reply.slot = client.slot;
                reply.generation = client.generation;
                LITEIPC_LOG(info, "pid %d reconnected to slot %u", client.pid, client.slot);
                return reply;
            }
            ++refused_.stale_slots;
            LITEIPC_LOG(warn, "slot %u held pid %u of an earlier process: retired", *slot, proc.tgid);
            uint64_t generation = proc.generation;
            if (kernel_->close_proc(*slot, generation)) {
                kernel_->drop_inbox(*slot);
                release_holdings_of(*slot, generation);
            }
        }
    }
    client.registered = false;
    client.auxiliary = false;
    if (client.uid != 0) {
        std::size_t held = 0;
        for (uint32_t slot = 0; slot < LITEIPC_MAX_PROCS; ++slot) {
            const liteipc_proc& p = kernel_->proc(slot);
            held += p.state == LITEIPC_PROC_ALIVE && p.uid == client.uid;
        }
        if (config_.quotas.processes && held >= config_.quotas.processes) {
            ++refused_.quota_processes;
            return refuse(Errc::quota_exceeded, EDQUOT,
                          "uid " + std::to_string(client.uid) + " holds its quota of " +
                              std::to_string(config_.quotas.processes) + " registered processes");
        }
        if (TableUse processes = table_use()[0]; processes.full()) {
            ++refused_.reserve_processes;
            return refuse_reserved(processes);
        }
    }
    auto slot = kernel_->free_slot();
    if (!slot) return refuse(Errc::no_memory, ENOSPC, "process table full");
    auto reg = kernel_->register_proc(*slot, client.host_pid, client.uid, client.gid, client.start_time);
    if (!reg) return refuse(Errc::kernel, reg.error().sys_errno ? reg.error().sys_errno : EIO, reg.error().describe());
    // Checked again after registering: a process that died before the slot was ALIVE was not
    // seen by the exit program, and its slot would otherwise stay ALIVE for good.
    if (process_exited(client.pidfd.get())) {
        ++refused_.dead_at_hello;
        (void)kernel_->close_proc(reg->slot, reg->generation);
        return refuse(Errc::dead_object, ESRCH, "pid " + std::to_string(client.pid) + " exited while registering");
    }
    auto inbox = kernel_->create_inbox(reg->slot);
    if (!inbox) {
        (void)kernel_->close_proc(reg->slot, reg->generation);
        return refuse(Errc::kernel, EIO, inbox.error().describe());
    }
    fds.push_back(std::move(*inbox));
    client.registered = true;
    client.slot = reg->slot;
    client.generation = reg->generation;
    reply.slot = reg->slot;
    reply.generation = reg->generation;
    LITEIPC_LOG(info, "registered pid %d uid %u in slot %u generation %llu", client.host_pid, client.uid, client.slot,
                static_cast<unsigned long long>(client.generation));
    grant_waiting(client);
    return reply;
}

void Daemon::adopt_registered() {
    // Processes registered with an earlier loader stay registered when they are demonstrably the
    // same process (the start time the slot recorded); their death is still seen by the pinned
    // program. Any other ALIVE slot names a process that is gone: retire it.
    std::size_t alive = 0, stale = 0;
    for (uint32_t slot = 0; slot < LITEIPC_MAX_PROCS; ++slot) {
        const liteipc_proc& proc = kernel_->proc(slot);
        if (proc.state == LITEIPC_PROC_DEAD) {
            reclaim(slot, proc.generation - 1);
        } else if (proc.state == LITEIPC_PROC_ALIVE && same_process(slot)) {
            ++alive;
        } else if (proc.state == LITEIPC_PROC_ALIVE) {
            uint64_t generation = proc.generation;
            if (kernel_->close_proc(slot, generation)) {
                kernel_->drop_inbox(slot);
                release_holdings_of(slot, generation);
                ++stale;
            }
        }
    }
    refused_.stale_slots += stale;
    // Connections whose parties are gone were left by processes that died while no loader ran.
    std::vector<uint64_t> gone;
    kernel_->for_each_conn([&](uint64_t id, const liteipc_conn& conn) {
        if (kernel_->proc(conn.client_slot).generation != conn.client_generation ||
            kernel_->proc(conn.service_slot).generation != conn.service_generation)
            gone.push_back(id);
    });
    for (uint64_t id : gone) kernel_->drop_conn(id);
    if (alive || stale)
        LITEIPC_LOG(info, "adopted %zu registered processes, retired %zu slots of processes gone", alive, stale);
}

void Daemon::on_death(const liteipc_death_record& record) {
    ++registry_.deaths_seen;
    if (record.closed) return;  // an orderly close, handled where the socket closed
    LITEIPC_LOG(info, "death: pid %u uid %u slot %u generation %llu status 0x%x", record.tgid, record.uid,
                record.slot, static_cast<unsigned long long>(record.generation), record.exit_code);
    reclaim(record.slot, record.generation);
}

void Daemon::reclaim(uint32_t slot, uint64_t alive_generation) {
    kernel_->drop_inbox(slot);
    release_holdings_of(slot, alive_generation);
    if (auto ok = kernel_->reclaim_proc(slot, alive_generation + 1); !ok)
        LITEIPC_LOG(warn, "reclaim of slot %u: %s", slot, ok.error().describe().c_str());
}

void Daemon::release_holdings_of(uint32_t slot, uint64_t generation) {
    kernel_->drop_subscriptions_of(slot);
    std::vector<uint64_t> gone;
    kernel_->for_each_conn([&](uint64_t id, const liteipc_conn& conn) {
        if (conn.client_slot == slot || conn.service_slot == slot) gone.push_back(id);
    });
    for (uint64_t id : gone) {
        kernel_->drop_conn(id);
        end_pending(id, Errc::dead_object, ECONNABORTED, "the peer is gone");
    }
    // Its services went with it (the exit or close program drops them); so do their grants, and
    // the grants it held on other services.
    std::vector<uint32_t> services;
    for (const auto& [handle, record] : book_.services)
        if (record.owner_slot == slot && record.owner_generation == generation) services.push_back(handle);
    for (uint32_t handle : services) {
        forget_service(handle);
        vacate_topic(handle);
    }
    drop_grants_made_by(slot, generation);
    for (auto it = book_.grants.begin(); it != book_.grants.end();) {
        const auto& [handle, kind, id, grantee_generation] = it->first;
        if ((kind == LITEIPC_GRANT_PID || kind == LITEIPC_GRANT_PUB_PID) && id == slot && grantee_generation == generation) {
            liteipc_grant_key key{handle, kind, id, 0, grantee_generation};
            kernel_->drop_grant(key);
            it = book_.grants.erase(it);
        } else {
            ++it;
        }
    }
    forget_subscriber(slot, generation);
}

}  // namespace liteipc::loader
