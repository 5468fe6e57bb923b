// The fuzz input shared by parcel_fuzz and the corpus generator:
//   [flags: low 5 bits = script length n, bit 5 = C face reads with transport tables]
//   [n read operations, one byte each, taken modulo kReadOpCount]
//   [the message]
// The script is the receiver's idea of the message; the message is the hostile sender's.
#pragma once

#include <cstdint>

namespace liteipc::fuzz {

enum ReadOp : uint8_t {
    op_bool, op_char, op_int8, op_uint8, op_int16, op_uint16, op_int32, op_uint32,
    op_int64, op_uint64, op_float, op_double, op_intptr, op_uintptr,
    op_bool_unaligned, op_char_unaligned, op_int8_unaligned, op_uint8_unaligned,
    op_int16_unaligned, op_uint16_unaligned,
    op_string, op_c_string, op_bytes, op_vector_u32, op_object, op_flat,
    op_fd, op_take_fd, op_service, op_buffer,
    kReadOpCount
};

inline constexpr uint8_t kScriptLengthMask = 0x1f;
inline constexpr uint8_t kFlagCFaceTables = 0x20;
inline constexpr size_t kPeerPoolSize = 4096;
inline constexpr size_t kDeliveredFds = 4;

}  // namespace liteipc::fuzz
