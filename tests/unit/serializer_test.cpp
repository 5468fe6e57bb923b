// The LiteIPC IpcIo C API over the Parcel core.
#include "liteipc/serializer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include "capi/ipcio_message.h"
#include "liteipc/parcel.h"

namespace {

struct Flat {
    int32_t a;
    uint16_t b;
};

class IpcIoTest : public ::testing::Test {
protected:
    // Seals the written message and opens it for reading in `in`.
    void reopen() {
        size_t size = 0;
        const void* message = IpcIoGetMessage(&out, &size);
        ASSERT_NE(message, nullptr);
        IpcIoInitFromBuffer(&in, message, size);
        ASSERT_TRUE(IpcIoAvailable(&in));
    }

    alignas(8) char buffer[2048];
    IpcIo out;
    IpcIo in;
};

TEST_F(IpcIoTest, RoundTripsEveryType) {
    IpcIoInit(&out, buffer, sizeof buffer, 4);
    ASSERT_TRUE(IpcIoAvailable(&out));
    IpcIoPushChar(&out, 'c');
    IpcIoPushCharUnaligned(&out, 'u');
    IpcIoPushBool(&out, true);
    IpcIoPushBoolUnaligned(&out, true);
    IpcIoPushIntptr(&out, -77);
    IpcIoPushUintptr(&out, 77);
    IpcIoPushInt8(&out, -8);
    IpcIoPushInt8Unaligned(&out, -9);
    IpcIoPushUint8(&out, 250);
    IpcIoPushUint8Unaligned(&out, 251);
    IpcIoPushInt16(&out, -1600);
    IpcIoPushInt16Unaligned(&out, -1601);
    IpcIoPushUint16(&out, 65000);
    IpcIoPushUint16Unaligned(&out, 65001);
    IpcIoPushInt32(&out, std::numeric_limits<int32_t>::min());
    IpcIoPushUint32(&out, 0xfeedface);
    IpcIoPushInt64(&out, -(int64_t{1} << 40));
    IpcIoPushUint64(&out, ~uint64_t{0});
    IpcIoPushFloat(&out, 0.25f);
    IpcIoPushDouble(&out, 1e300);
    IpcIoPushString(&out, "samgr");
    const Flat flat{-5, 6};
    IpcIoPushFlatObj(&out, &flat, sizeof flat);
    const SvcIdentity svc{3, 4, 0xabcdef0123ULL};
    IpcIoPushSvc(&out, &svc);
    IpcIoPushFd(&out, 5);
    char bytes[] = "data buffer bytes";
    const BuffPtr buff{sizeof bytes, bytes};
    IpcIoPushDataBuff(&out, &buff);
    ASSERT_TRUE(IpcIoAvailable(&out));
    reopen();

    EXPECT_EQ(IpcIoPopChar(&in), 'c');
    EXPECT_EQ(IpcIoPopCharUnaligned(&in), 'u');
    EXPECT_TRUE(IpcIoPopBool(&in));
    EXPECT_TRUE(IpcIoPopBoolUnaligned(&in));
    EXPECT_EQ(IpcIoPopIntptr(&in), -77);
    EXPECT_EQ(IpcIoPopUintptr(&in), 77u);
    EXPECT_EQ(IpcIoPopInt8(&in), -8);
    EXPECT_EQ(IpcIoPopInt8Unaligned(&in), -9);
    EXPECT_EQ(IpcIoPopUint8(&in), 250);
    EXPECT_EQ(IpcIoPopUint8Unaligned(&in), 251);
    EXPECT_EQ(IpcIoPopInt16(&in), -1600);
    EXPECT_EQ(IpcIoPopInt16Unaligned(&in), -1601);
    EXPECT_EQ(IpcIoPopUint16(&in), 65000);
    EXPECT_EQ(IpcIoPopUint16Unaligned(&in), 65001);
    EXPECT_EQ(IpcIoPopInt32(&in), std::numeric_limits<int32_t>::min());
    EXPECT_EQ(IpcIoPopUint32(&in), 0xfeedfaceu);
    EXPECT_EQ(IpcIoPopInt64(&in), -(int64_t{1} << 40));
    EXPECT_EQ(IpcIoPopUint64(&in), ~uint64_t{0});
    EXPECT_EQ(IpcIoPopFloat(&in), 0.25f);
    EXPECT_EQ(IpcIoPopDouble(&in), 1e300);
    size_t length = 0;
    const uint8_t* text = IpcIoPopString(&in, &length);
    ASSERT_NE(text, nullptr);
    EXPECT_EQ(length, 5u);
    EXPECT_STREQ(reinterpret_cast<const char*>(text), "samgr");
    uint32_t flat_size = 0;
    const void* flat_in = IpcIoPopFlatObj(&in, &flat_size);
    ASSERT_EQ(flat_size, sizeof(Flat));
    Flat copy;
    std::memcpy(&copy, flat_in, sizeof copy);
    EXPECT_EQ(copy.a, -5);
    EXPECT_EQ(copy.b, 6);
    const SvcIdentity* svc_in = IpcIoPopSvc(&in);
    ASSERT_NE(svc_in, nullptr);
    EXPECT_EQ(svc_in->handle, 3u);
    EXPECT_EQ(svc_in->token, 4u);
    EXPECT_EQ(svc_in->cookie, 0xabcdef0123ULL);
    EXPECT_EQ(IpcIoPopFd(&in), 5);
    const BuffPtr* buff_in = IpcIoPopDataBuff(&in);
    ASSERT_NE(buff_in, nullptr);
    ASSERT_EQ(buff_in->buffSz, sizeof bytes);
    EXPECT_STREQ(static_cast<const char*>(buff_in->buff), bytes);
    EXPECT_TRUE(IpcIoAvailable(&in));

    // Past the end: zero values and the io is no longer available.
    EXPECT_EQ(IpcIoPopInt32(&in), 0);
    EXPECT_FALSE(IpcIoAvailable(&in));
    EXPECT_TRUE(in.flag & IPC_IO_OVERFLOW);
    EXPECT_EQ(IpcIoPopString(&in, &length), nullptr);
    EXPECT_EQ(length, 0u);
    EXPECT_EQ(IpcIoPopSvc(&in), nullptr);
    EXPECT_EQ(IpcIoPopFd(&in), -1);
    EXPECT_EQ(IpcIoPopDataBuff(&in), nullptr);
}

TEST_F(IpcIoTest, SameWireFormatAsTheParcel) {
    IpcIoInit(&out, buffer, sizeof buffer, 2);
    IpcIoPushInt32(&out, 12);
    IpcIoPushString(&out, "x");
    IpcIoPushFd(&out, 9);
    size_t size = 0;
    const void* message = IpcIoGetMessage(&out, &size);
    ASSERT_NE(message, nullptr);

    liteipc::Reader reader(std::span(static_cast<const std::byte*>(message), size), {.raw_fds = true});
    EXPECT_EQ(reader.read_int32(), 12);
    EXPECT_EQ(reader.read_string_view(), "x");
    EXPECT_EQ(reader.read_fd(), 9);
    EXPECT_TRUE(reader.ok()) << reader.error_reason();

    liteipc::InlineWriter<256> writer;
    writer.write_uint16_unaligned(0x1234);
    writer.write_service({7, 8, 9});
    const auto parcel = writer.finish();
    ASSERT_TRUE(parcel.has_value());
    IpcIoInitFromBuffer(&in, parcel->data(), parcel->size());
    EXPECT_EQ(IpcIoPopUint16Unaligned(&in), 0x1234);
    EXPECT_EQ(IpcIoPopSvc(&in)->cookie, 9u);
    EXPECT_TRUE(IpcIoAvailable(&in));
}

TEST_F(IpcIoTest, TransportTablesThroughTheCxxAccessors) {
    std::vector<std::byte> pool(1 << 16);
    IpcIoInit(&out, buffer, sizeof buffer, 4);
    ASSERT_NE(liteipc::ipcio_writer(&out), nullptr);
    EXPECT_EQ(liteipc::ipcio_reader(&out), nullptr);
    std::vector<char> large(1000, 'z');
    const BuffPtr buff{static_cast<uint32_t>(large.size()), large.data()};
    IpcIoPushDataBuff(&out, &buff);
    IpcIoPushFd(&out, 4);
    // The transport gathers the message and places the data buffer in its pool.
    std::array<std::byte, 256> staging;
    auto sealed = liteipc::detail::seal_ipcio(&out, staging, [&](size_t length) {
        return std::optional(liteipc::PoolSpan{128, std::span(pool).subspan(128, length)});
    });
    ASSERT_TRUE(sealed.has_value()) << sealed.error().describe();
    const void* message = sealed->data();
    const size_t size = sealed->size();
    EXPECT_LT(size, 100u);
    EXPECT_EQ(pool[128 + 999], std::byte{'z'});
    // A pool too small for it: a named error, nothing half-written counts.
    std::array<std::byte, 256> other;
    auto refused = liteipc::detail::seal_ipcio(&out, other, [](size_t) { return std::optional<liteipc::PoolSpan>(); });
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, liteipc::Errc::no_memory);

    int fds[] = {33};
    liteipc::ipcio_init_reader(&in, std::span(static_cast<const std::byte*>(message), size),
                               {.peer_pool = pool, .fds = fds});
    const BuffPtr* received = IpcIoPopDataBuff(&in);
    ASSERT_NE(received, nullptr);
    EXPECT_EQ(received->buffSz, 1000u);
    EXPECT_EQ(received->buff, pool.data() + 128);
    EXPECT_EQ(IpcIoPopFd(&in), 33);
    EXPECT_EQ(fds[0], -1);  // the caller owns it now
    EXPECT_TRUE(IpcIoAvailable(&in));
}

std::vector<void*> g_freed;
void record_free(void* ptr) { g_freed.push_back(ptr); }

TEST_F(IpcIoTest, DataBuffWithFreeRunsInFreeDataBuff) {
    g_freed.clear();
    IpcIoInit(&out, buffer, sizeof buffer, 4);
    char first[8] = "first";
    char second[8] = "second";
    const BuffPtr a{sizeof first, first};
    const BuffPtr b{sizeof second, second};
    IpcIoPushDataBuffWithFree(&out, &a, record_free);
    IpcIoPushDataBuffWithFree(&out, &b, nullptr);
    ASSERT_TRUE(IpcIoAvailable(&out));
    EXPECT_TRUE(g_freed.empty());
    IpcIoFreeDataBuff(&out);
    ASSERT_EQ(g_freed.size(), 1u);
    EXPECT_EQ(g_freed[0], first);
    IpcIoFreeDataBuff(&out);
    EXPECT_EQ(g_freed.size(), 1u);
    IpcIoFreeDataBuff(nullptr);
}

TEST_F(IpcIoTest, InvalidArgumentsFailTheIo) {
    IpcIoInit(nullptr, buffer, sizeof buffer, 1);
    IpcIoInit(&out, nullptr, sizeof buffer, 1);
    EXPECT_FALSE(IpcIoAvailable(&out));
    IpcIoInit(&out, buffer, 0, 1);
    EXPECT_FALSE(IpcIoAvailable(&out));
    IpcIoInit(&out, buffer, sizeof buffer, liteipc::kMaxObjects + 1);
    EXPECT_FALSE(IpcIoAvailable(&out));
    EXPECT_FALSE(IpcIoAvailable(nullptr));
    IpcIoPushInt32(nullptr, 1);  // no crash
    EXPECT_EQ(IpcIoPopInt32(nullptr), 0);

    auto expect_fails = [&](auto push) {
        IpcIoInit(&out, buffer, sizeof buffer, 1);
        push();
        EXPECT_FALSE(IpcIoAvailable(&out));
        size_t size = 1;
        EXPECT_EQ(IpcIoGetMessage(&out, &size), nullptr);
        EXPECT_EQ(size, 0u);
    };
    expect_fails([&] { IpcIoPushString(&out, nullptr); });
    expect_fails([&] { IpcIoPushFlatObj(&out, nullptr, 4); });
    expect_fails([&] { IpcIoPushFlatObj(&out, buffer, 0); });
    expect_fails([&] { IpcIoPushSvc(&out, nullptr); });
    expect_fails([&] { IpcIoPushFd(&out, 0x80000000u); });
    expect_fails([&] { IpcIoPushDataBuff(&out, nullptr); });
    expect_fails([&] {
        const BuffPtr empty{0, buffer};
        IpcIoPushDataBuff(&out, &empty);
    });
    expect_fails([&] {
        IpcIoPushFd(&out, 1);
        IpcIoPushFd(&out, 2);  // maxobjects is 1
    });
    expect_fails([&] {
        const std::string too_long(liteipc::kMaxStringLength + 1, 'a');
        IpcIoPushString(&out, too_long.c_str());
    });
    // A pop on an io being written (one not written to yet reads its own buffer, as upstream's:
    // tests/upstream/serializer_test.cpp).
    expect_fails([&] {
        IpcIoPushInt32(&out, 1);
        IpcIoPopInt32(&out);
    });

    // A full buffer: later pushes are ignored.
    char small[24];
    IpcIoInit(&out, small, sizeof small, 0);
    IpcIoPushInt32(&out, 1);
    IpcIoPushInt64(&out, 2);
    IpcIoPushInt64(&out, 3);
    IpcIoPushInt32(&out, 4);
    EXPECT_TRUE(IpcIoAvailable(&out));
    IpcIoPushInt32(&out, 5);
    EXPECT_FALSE(IpcIoAvailable(&out));

    // A push on a reading io.
    IpcIoInit(&out, buffer, sizeof buffer, 0);
    IpcIoPushInt32(&out, 1);
    reopen();
    IpcIoPushInt32(&in, 2);
    EXPECT_FALSE(IpcIoAvailable(&in));

    uint32_t flat_size = 1;
    IpcIoInitFromBuffer(&in, buffer, 0);
    EXPECT_FALSE(IpcIoAvailable(&in));
    EXPECT_EQ(IpcIoPopFlatObj(&in, &flat_size), nullptr);
    EXPECT_EQ(flat_size, 0u);
    IpcIoInitFromBuffer(&in, nullptr, 64);
    EXPECT_FALSE(IpcIoAvailable(&in));
}

TEST_F(IpcIoTest, HostileMessagesFailCleanly) {
    IpcIoInit(&out, buffer, sizeof buffer, 1);
    IpcIoPushString(&out, "abc");
    IpcIoPushFd(&out, 3);
    size_t size = 0;
    const void* sealed = IpcIoGetMessage(&out, &size);
    ASSERT_NE(sealed, nullptr);
    std::vector<char> message(static_cast<const char*>(sealed), static_cast<const char*>(sealed) + size);

    // Unterminated string.
    auto unterminated = message;
    unterminated[sizeof(liteipc::MessageHeader) + 4 + 3] = 'd';
    IpcIoInitFromBuffer(&in, unterminated.data(), unterminated.size());
    size_t length = 9;
    EXPECT_EQ(IpcIoPopString(&in, &length), nullptr);
    EXPECT_EQ(length, 0u);
    EXPECT_FALSE(IpcIoAvailable(&in));
    EXPECT_EQ(liteipc::ipcio_reader(&in)->error(), liteipc::ParcelError::bad_string);

    // The fd read as a service reference.
    IpcIoInitFromBuffer(&in, message.data(), message.size());
    EXPECT_NE(IpcIoPopString(&in, nullptr), nullptr);
    EXPECT_EQ(IpcIoPopSvc(&in), nullptr);
    EXPECT_EQ(IpcIoPopFd(&in), -1);

    // Truncated message.
    IpcIoInitFromBuffer(&in, message.data(), message.size() - 4);
    EXPECT_FALSE(IpcIoAvailable(&in));
    EXPECT_EQ(IpcIoPopString(&in, &length), nullptr);
}

// serializer.h must stay includable from C: compile a C user of it with the system C compiler.
TEST(SerializerHeader, CompilesAsC) {
    if (std::system("command -v cc >/dev/null 2>&1") != 0) GTEST_SKIP() << "no C compiler (cc)";
    // The source tree's path from the build (not __FILE__, which ccache may make relative).
    const std::filesystem::path include_dir = std::filesystem::path(LITEIPC_SOURCE_DIR) / "include";
    const std::filesystem::path source =
        std::filesystem::temp_directory_path() / ("liteipc_serializer_c_" + std::to_string(getpid()) + ".c");
    {
        std::ofstream c(source);
        c << "#include \"liteipc/serializer.h\"\n"
             "int use(void) {\n"
             "    char buffer[256];\n"
             "    IpcIo io;\n"
             "    SvcIdentity svc = {1, 2, 3};\n"
             "    BuffPtr buff = {4, buffer};\n"
             "    IpcIoInit(&io, buffer, sizeof buffer, 2);\n"
             "    IpcIoPushSvc(&io, &svc);\n"
             "    IpcIoPushDataBuffWithFree(&io, &buff, (IpcIoPtrFree)0);\n"
             "    return IpcIoAvailable(&io) ? IpcIoPopInt32(&io) : (int)OBJ_SVC;\n"
             "}\n";
    }
    const std::string command = "cc -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -I" +
                                include_dir.string() + " " + source.string();
    const int status = std::system(command.c_str());
    std::filesystem::remove(source);
    EXPECT_EQ(status, 0) << command;
}

}  // namespace
