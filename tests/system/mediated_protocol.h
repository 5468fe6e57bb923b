// What the mediated-service tests and their client peer say to each other.
#pragma once

#include <cstdint>
#include <string>

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
    echo_secret = 7,    // arg: a seed; a kEcho call whose pool payload is the seed's secret text
    // As an attacker: records the send program passes but that name a slot past the connection's
    // or pool bytes outside the sender's pool, and slot indices past the connection's written into
    // its ctrl ring; then a search of every liteipc mapping it can read for the secret of `arg`.
    forge_records = 8,
};

// The text a victim sends with echo_secret: long enough to travel in its pool, not inline.
inline std::string secret_text(uint32_t seed) {
    std::string text;
    while (text.size() < 3000) text += "SECRET-" + std::to_string(seed) + "-";
    return text;
}

struct MediatedCommand {
    MediatedOp op;
    uint32_t arg = 0;
};

// result: 0 or the Errc (-1: the step could not be taken); who_am_i also fills the rest.
struct MediatedReport {
    int32_t result = 0;
    uint32_t pid = 0, uid = 0, gid = 0, tid = 0;  // as the service saw the caller
    uint32_t own_pid = 0, own_tid = 0;            // as the caller knows itself
    // forge_records: the send program's result for the record naming a slot past the connection's,
    // the service's reply status to the records naming bytes outside the pool (past its end, and a
    // length that wraps), and 1 when the victim's secret showed in memory the attacker can read.
    int32_t slot_past_end = 0, outside_pool = 0, wrapping_length = 0, secret_seen = 0;
};

inline constexpr uint32_t kForgedTid = 1;
// The code of forge_records' forged requests: a handler run with it served a forged record.
inline constexpr uint32_t kForgedCode = 0xf0f0;

}  // namespace liteipc::testing
