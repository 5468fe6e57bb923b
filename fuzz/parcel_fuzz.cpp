// libFuzzer target: a hostile message read by a receiver that expects some sequence of values,
// through the C++ Reader and the IpcIo C face. Any sanitizer report or abort is a finding;
// every byte of every returned view is touched so out-of-bounds views are caught.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "liteipc/parcel.h"
#include "liteipc/serializer.h"
#include "parcel_fuzz_input.h"

namespace liteipc::fuzz {
namespace {

struct Flat {
    uint32_t a;
    uint16_t b;
    uint8_t c;
};

// Kept observable so the touches are not optimised away.
volatile uint64_t g_sink;

void touch(const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    uint64_t sum = 0;
    for (size_t i = 0; i < size; ++i) sum += bytes[i];
    g_sink = g_sink + sum;
}

void touch(std::span<const std::byte> bytes) { touch(bytes.data(), bytes.size()); }

void run_cxx(Reader& reader, std::span<const uint8_t> script) {
    for (const uint8_t code : script) {
        switch (static_cast<ReadOp>(code % kReadOpCount)) {
            case op_bool: g_sink = g_sink + reader.read_bool(); break;
            case op_char: g_sink = g_sink + reader.read_char(); break;
            case op_int8: g_sink = g_sink + reader.read_int8(); break;
            case op_uint8: g_sink = g_sink + reader.read_uint8(); break;
            case op_int16: g_sink = g_sink + reader.read_int16(); break;
            case op_uint16: g_sink = g_sink + reader.read_uint16(); break;
            case op_int32: g_sink = g_sink + reader.read_int32(); break;
            case op_uint32: g_sink = g_sink + reader.read_uint32(); break;
            case op_int64: g_sink = g_sink + reader.read_int64(); break;
            case op_uint64: g_sink = g_sink + reader.read_uint64(); break;
            case op_float: g_sink = g_sink + static_cast<uint64_t>(reader.read_float() != 0.0f); break;
            case op_double: g_sink = g_sink + static_cast<uint64_t>(reader.read_double() != 0.0); break;
            case op_intptr: g_sink = g_sink + reader.read_intptr(); break;
            case op_uintptr: g_sink = g_sink + reader.read_uintptr(); break;
            case op_bool_unaligned: g_sink = g_sink + reader.read_bool_unaligned(); break;
            case op_char_unaligned: g_sink = g_sink + reader.read_char_unaligned(); break;
            case op_int8_unaligned: g_sink = g_sink + reader.read_int8_unaligned(); break;
            case op_uint8_unaligned: g_sink = g_sink + reader.read_uint8_unaligned(); break;
            case op_int16_unaligned: g_sink = g_sink + reader.read_int16_unaligned(); break;
            case op_uint16_unaligned: g_sink = g_sink + reader.read_uint16_unaligned(); break;
            case op_string: {
                const std::string_view text = reader.read_string_view();
                touch(text.data(), text.size());
                break;
            }
            case op_c_string: {
                size_t length = 0;
                if (const char* text = reader.read_c_string(&length)) touch(text, length + 1);
                break;
            }
            case op_bytes: touch(reader.read_bytes()); break;
            case op_vector_u32: {
                std::array<uint32_t, 16> items{};
                const size_t count = reader.read_vector<uint32_t>(std::span(items));
                touch(items.data(), count * sizeof(uint32_t));
                break;
            }
            case op_object: {
                const Flat flat = reader.read_object<Flat>();
                g_sink = g_sink + flat.a + flat.b + flat.c;
                break;
            }
            case op_flat: touch(reader.read_flat()); break;
            case op_fd: g_sink = g_sink + reader.read_fd(); break;
            case op_take_fd: g_sink = g_sink + reader.take_fd(); break;
            case op_service: {
                const SvcIdentity service = reader.read_service();
                g_sink = g_sink + service.handle + service.token + service.cookie;
                break;
            }
            case op_buffer: touch(reader.read_buffer()); break;
            case kReadOpCount: break;
        }
    }
    // After a failure every read gives zero values.
    if (!reader.ok() && (reader.read_int32() != 0 || !reader.read_buffer().empty() || reader.read_fd() != -1))
        __builtin_trap();
}

void run_c(IpcIo* io, std::span<const uint8_t> script) {
    for (const uint8_t code : script) {
        switch (static_cast<ReadOp>(code % kReadOpCount)) {
            case op_bool: g_sink = g_sink + IpcIoPopBool(io); break;
            case op_char: g_sink = g_sink + IpcIoPopChar(io); break;
            case op_int8: g_sink = g_sink + IpcIoPopInt8(io); break;
            case op_uint8: g_sink = g_sink + IpcIoPopUint8(io); break;
            case op_int16: g_sink = g_sink + IpcIoPopInt16(io); break;
            case op_uint16: g_sink = g_sink + IpcIoPopUint16(io); break;
            case op_int32: g_sink = g_sink + IpcIoPopInt32(io); break;
            case op_uint32: g_sink = g_sink + IpcIoPopUint32(io); break;
            case op_int64: g_sink = g_sink + IpcIoPopInt64(io); break;
            case op_uint64: g_sink = g_sink + IpcIoPopUint64(io); break;
            case op_float: g_sink = g_sink + static_cast<uint64_t>(IpcIoPopFloat(io) != 0.0f); break;
            case op_double: g_sink = g_sink + static_cast<uint64_t>(IpcIoPopDouble(io) != 0.0); break;
            case op_intptr: g_sink = g_sink + IpcIoPopIntptr(io); break;
            case op_uintptr: g_sink = g_sink + IpcIoPopUintptr(io); break;
            case op_bool_unaligned: g_sink = g_sink + IpcIoPopBoolUnaligned(io); break;
            case op_char_unaligned: g_sink = g_sink + IpcIoPopCharUnaligned(io); break;
            case op_int8_unaligned: g_sink = g_sink + IpcIoPopInt8Unaligned(io); break;
            case op_uint8_unaligned: g_sink = g_sink + IpcIoPopUint8Unaligned(io); break;
            case op_int16_unaligned: g_sink = g_sink + IpcIoPopInt16Unaligned(io); break;
            case op_uint16_unaligned: g_sink = g_sink + IpcIoPopUint16Unaligned(io); break;
            case op_string:
            case op_c_string: {
                size_t length = 0;
                if (const uint8_t* text = IpcIoPopString(io, &length)) touch(text, length + 1);
                break;
            }
            case op_bytes:
            case op_vector_u32:
            case op_object:
            case op_flat: {
                uint32_t size = 0;
                if (const void* flat = IpcIoPopFlatObj(io, &size)) touch(flat, size);
                break;
            }
            case op_fd:
            case op_take_fd: g_sink = g_sink + IpcIoPopFd(io); break;
            case op_service:
                if (const SvcIdentity* service = IpcIoPopSvc(io)) touch(service, sizeof *service);
                break;
            case op_buffer:
                if (const BuffPtr* buffer = IpcIoPopDataBuff(io)) touch(buffer->buff, buffer->buffSz);
                break;
            case kReadOpCount: break;
        }
    }
    if (!IpcIoAvailable(io) && (IpcIoPopInt32(io) != 0 || IpcIoPopDataBuff(io) != nullptr)) __builtin_trap();
}

}  // namespace
}  // namespace liteipc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace liteipc;
    using namespace liteipc::fuzz;
    if (size < 1) return 0;
    const uint8_t flags = data[0];
    const size_t script_length = std::min<size_t>(flags & kScriptLengthMask, size - 1);
    const std::span<const uint8_t> script(data + 1, script_length);
    const std::span<const std::byte> message(reinterpret_cast<const std::byte*>(data + 1 + script_length),
                                             size - 1 - script_length);

    static std::array<std::byte, kPeerPoolSize> peer_pool{};
    const std::array<SvcIdentity, 2> services{SvcIdentity{1, 2, 3}, SvcIdentity{4, 5, 6}};

    // The transport's view: the layout must list only objects inside the message.
    MessageLayout layout;
    const char* reason = "";
    if (MessageLayout::validate(message, layout, reason) == ParcelError::none) {
        for (size_t i = 0; i < layout.object_count; ++i) {
            const WireObject object = layout.object(message, i);
            touch(&object, sizeof object);
        }
    }

    std::array<int, kDeliveredFds> fds{10, 11, 12, 13};
    Reader with_tables(message, {.peer_pool = peer_pool, .fds = fds, .services = services});
    run_cxx(with_tables, script);
    Reader raw(message, {.raw_fds = true});
    run_cxx(raw, script);

    IpcIo io;
    if (flags & kFlagCFaceTables) {
        std::array<int, kDeliveredFds> c_fds{20, 21, 22, 23};
        ipcio_init_reader(&io, message, {.peer_pool = peer_pool, .fds = c_fds});
        run_c(&io, script);
    } else {
        IpcIoInitFromBuffer(&io, message.data(), message.size());
        run_c(&io, script);
    }
    return 0;
}
