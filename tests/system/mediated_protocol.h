// What the mediated-service tests and their client peer say to each other.
#pragma once

#include <cstdint>

namespace liteipc::testing {

enum class MediatedOp : uint32_t {
    connect = 1,
    who_am_i = 2,              // kWhoAmI from a fresh thread
    who_am_i_forging_tid = 3,  // the same while another thread writes kForgedTid into the call slots
    become_uid = 4,            // arg: the uid to become (in the liteipc group)
    grant_pid = 5,             // arg: a pid this connected client grants access to the service
    // Tries to get at a message ring, where it could write records the kernel did not stamp: the
    // pinned msg_rings map and every BPF map by id. result: 0 when each try was refused.
    reach_message_rings = 6,
};

struct MediatedCommand {
    MediatedOp op;
    uint32_t arg = 0;
};

// result: 0 or the Errc (-1: the step could not be taken); who_am_i also fills the rest.
struct MediatedReport {
    int32_t result = 0;
    uint32_t pid = 0, uid = 0, gid = 0, tid = 0;  // as the service saw the caller
    uint32_t own_pid = 0, own_tid = 0;            // as the caller knows itself
};

inline constexpr uint32_t kForgedTid = 1;

}  // namespace liteipc::testing
