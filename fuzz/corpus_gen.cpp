// Writes the seed corpus for parcel_fuzz: valid messages, each with the read script that
// matches it, in the format of parcel_fuzz_input.h. Usage: parcel_corpus_gen <directory>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "liteipc/parcel.h"
#include "parcel_fuzz_input.h"

namespace {

using namespace liteipc;
using namespace liteipc::fuzz;

struct Flat {
    uint32_t a;
    uint16_t b;
    uint8_t c;
};

// A pool whose offsets land inside the fuzzer's kPeerPoolSize mapping.
class SeedPool final : public PoolAllocator {
public:
    std::optional<PoolSpan> allocate(size_t size) override {
        if (size > memory_.size() - used_) return std::nullopt;
        PoolSpan span{used_, std::span(memory_).subspan(used_, size)};
        used_ += size;
        return span;
    }

private:
    std::vector<std::byte> memory_ = std::vector<std::byte>(kPeerPoolSize);
    size_t used_ = 0;
};

bool write_seed(const std::filesystem::path& directory, const std::string& name, uint8_t flags,
                const std::vector<ReadOp>& script, const std::function<void(Writer&)>& build) {
    SeedPool pool;
    std::vector<std::byte> buffer(kMaxMessageSize);
    Writer writer(buffer, &pool);
    build(writer);
    const std::span<const std::byte> message = writer.seal();
    if (!writer.ok()) {
        std::fprintf(stderr, "%s: %s\n", name.c_str(), writer.error_reason());
        return false;
    }
    std::ofstream out(directory / name, std::ios::binary);
    const uint8_t head = static_cast<uint8_t>((script.size() & kScriptLengthMask) | flags);
    out.put(static_cast<char>(head));
    for (const ReadOp op : script) out.put(static_cast<char>(op));
    out.write(reinterpret_cast<const char*>(message.data()), static_cast<std::streamsize>(message.size()));
    return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
        return 2;
    }
    const std::filesystem::path directory = argv[1];
    std::filesystem::create_directories(directory);
    bool ok = true;

    ok &= write_seed(directory, "scalars", 0,
                     {op_bool, op_char, op_int8, op_uint8, op_int16, op_uint16, op_int32, op_uint32,
                      op_int64, op_uint64, op_float, op_double, op_intptr, op_uintptr},
                     [](Writer& w) {
                         w.write_bool(true), w.write_char('c'), w.write_int8(-1), w.write_uint8(2);
                         w.write_int16(-3), w.write_uint16(4), w.write_int32(-5), w.write_uint32(6);
                         w.write_int64(-7), w.write_uint64(8), w.write_float(9.5f), w.write_double(10.5);
                         w.write_intptr(-11), w.write_uintptr(12);
                     });
    ok &= write_seed(directory, "unaligned", 0,
                     {op_bool_unaligned, op_char_unaligned, op_int8_unaligned, op_uint8_unaligned,
                      op_int16_unaligned, op_uint16_unaligned, op_int32},
                     [](Writer& w) {
                         w.write_bool_unaligned(true), w.write_char_unaligned('u');
                         w.write_int8_unaligned(-1), w.write_uint8_unaligned(1);
                         w.write_int16_unaligned(-2), w.write_uint16_unaligned(2), w.write_int32(3);
                     });
    ok &= write_seed(directory, "strings_and_sized", 0,
                     {op_string, op_c_string, op_bytes, op_vector_u32, op_object, op_flat},
                     [](Writer& w) {
                         w.write_string("service.name");
                         w.write_string("");
                         const std::string raw = "raw bytes";
                         w.write_bytes(std::as_bytes(std::span(raw)));
                         const std::vector<uint32_t> items{1, 2, 3, 4};
                         w.write_vector<uint32_t>(items);
                         w.write_object(Flat{1, 2, 3});
                         const char flat[] = "flat";
                         w.write_flat(flat, sizeof flat);
                     });
    ok &= write_seed(directory, "special_objects", kFlagCFaceTables,
                     {op_int32, op_fd, op_service, op_buffer, op_take_fd, op_buffer, op_int32},
                     [](Writer& w) {
                         w.write_int32(1);
                         w.write_fd(3);
                         w.write_service({7, 8, 9});
                         w.write_buffer(std::vector<std::byte>(64, std::byte{0x42}));
                         w.write_fd(4);
                         w.write_buffer(std::vector<std::byte>(1000, std::byte{0x24}));  // pool
                         w.write_int32(2);
                     });
    ok &= write_seed(directory, "typical_request", 0,
                     {op_int32, op_int32, op_int32, op_int32, op_string, op_string, op_buffer, op_fd},
                     [](Writer& w) {
                         for (int i = 0; i < 4; ++i) w.write_int32(i);
                         w.write_string("org.liteipc.demo"), w.write_string("Echo");
                         w.write_buffer(std::vector<std::byte>(300, std::byte{1}));
                         w.write_fd(5);
                     });
    ok &= write_seed(directory, "empty", 0, {op_int32}, [](Writer&) {});
    return ok ? 0 : 1;
}
