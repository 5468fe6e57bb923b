// IpcIo capacity by LiteIPC's rules: a buffer sized as LiteIPC sizes it holds what LiteIPC's
// holds and overflows at the same push; the 8 KiB and 64 KiB limits; the larger IpcIo.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "liteipc/serializer.h"

namespace {

// Pushes int32s until the io fails; how many fit.
int int32s_that_fit(IpcIo* io) {
    int count = 0;
    for (;;) {
        IpcIoPushInt32(io, count);
        if (!IpcIoAvailable(io)) return count;
        ++count;
    }
}

// What a reader of the sealed message finds: the int32s, in order.
std::vector<int32_t> read_back(IpcIo* io, int count) {
    size_t size = 0;
    const void* message = IpcIoGetMessage(io, &size);
    std::vector<int32_t> values;
    if (message == nullptr) return values;
    IpcIo in;
    IpcIoInitFromBuffer(&in, message, size);
    for (int i = 0; i < count; ++i) values.push_back(IpcIoPopInt32(&in));
    if (!IpcIoAvailable(&in)) values.clear();
    return values;
}

TEST(IpcIoCapacity, SixtyFourBytesHoldSixteenInt32) {
    alignas(8) char buffer[64];
    IpcIo io;
    IpcIoInit(&io, buffer, sizeof buffer, 0);
    for (int32_t i = 0; i < 16; ++i) IpcIoPushInt32(&io, i);
    ASSERT_TRUE(IpcIoAvailable(&io));
    const auto values = read_back(&io, 16);
    ASSERT_EQ(values.size(), 16u);
    EXPECT_EQ(values[15], 15);

    // One more is one past the buffer: the io fails, and stays failed.
    IpcIoInit(&io, buffer, sizeof buffer, 0);
    EXPECT_EQ(int32s_that_fit(&io), 16);
    IpcIoPushChar(&io, 'x');
    EXPECT_FALSE(IpcIoAvailable(&io));
    size_t size = 1;
    EXPECT_EQ(IpcIoGetMessage(&io, &size), nullptr);
    EXPECT_EQ(size, 0u);
}

TEST(IpcIoCapacity, ObjectsReserveTheirOffsetsAsLiteIpcDoes) {
    // maxobjects * sizeof(size_t) of the buffer holds offsets, whether used or not.
    alignas(8) char buffer[64];
    IpcIo io;
    IpcIoInit(&io, buffer, sizeof buffer, 2);
    EXPECT_EQ(int32s_that_fit(&io), (64 - 2 * static_cast<int>(sizeof(size_t))) / 4);

    // Each special object takes 24 bytes of data: 200 B with 4 objects holds 168 B of data,
    // so 4 service references (96 B) and 18 int32 (72 B), not one more.
    alignas(8) char io200[200];
    IpcIoInit(&io, io200, sizeof io200, 4);
    const SvcIdentity svc{7, 8, 9};
    for (int i = 0; i < 4; ++i) IpcIoPushSvc(&io, &svc);
    ASSERT_TRUE(IpcIoAvailable(&io));
    EXPECT_EQ(int32s_that_fit(&io), 18);

    // A fifth object is past maxobjects even with room for its bytes.
    IpcIoInit(&io, io200, sizeof io200, 4);
    for (int i = 0; i < 4; ++i) IpcIoPushFd(&io, 1);
    ASSERT_TRUE(IpcIoAvailable(&io));
    IpcIoPushFd(&io, 1);
    EXPECT_FALSE(IpcIoAvailable(&io));

    // Offsets that do not fit the buffer: refused at init.
    IpcIoInit(&io, buffer, sizeof buffer, 9);
    EXPECT_FALSE(IpcIoAvailable(&io));
    IpcIoInit(&io, buffer, sizeof buffer, 8);
    EXPECT_TRUE(IpcIoAvailable(&io));
    IpcIoPushInt8Unaligned(&io, 1);
    EXPECT_FALSE(IpcIoAvailable(&io)) << "no byte is left for data";
}

TEST(IpcIoCapacity, StringsAndFlatObjectsAsLiteIpcCountsThem) {
    // A string takes 4 + its length + 1, rounded up to 4: "abc" 8 bytes, "abcd" 12.
    alignas(8) char buffer[20];
    IpcIo io;
    IpcIoInit(&io, buffer, sizeof buffer, 0);
    IpcIoPushString(&io, "abc");
    IpcIoPushString(&io, "abcd");
    ASSERT_TRUE(IpcIoAvailable(&io));
    IpcIoPushBoolUnaligned(&io, true);
    EXPECT_FALSE(IpcIoAvailable(&io));

    // Unaligned values take their exact size.
    char packed[7];
    IpcIoInit(&io, packed, sizeof packed, 0);
    IpcIoPushUint8Unaligned(&io, 1);
    IpcIoPushUint16Unaligned(&io, 2);
    IpcIoPushInt16Unaligned(&io, 3);
    IpcIoPushCharUnaligned(&io, 'c');
    IpcIoPushBoolUnaligned(&io, true);
    ASSERT_TRUE(IpcIoAvailable(&io));
    IpcIoPushInt8Unaligned(&io, 4);
    EXPECT_FALSE(IpcIoAvailable(&io));

    // A flat object: 4 + its size rounded up (9 bytes: 16; 13 bytes: 20).
    alignas(8) char flat_buffer[16];
    const char bytes[13] = "123456789abc";
    IpcIoInit(&io, flat_buffer, sizeof flat_buffer, 0);
    IpcIoPushFlatObj(&io, bytes, 9);
    EXPECT_TRUE(IpcIoAvailable(&io));
    IpcIoInit(&io, flat_buffer, sizeof flat_buffer, 0);
    IpcIoPushFlatObj(&io, bytes, 13);
    EXPECT_FALSE(IpcIoAvailable(&io));
}

TEST(IpcIoCapacity, EightKibIsTheLimitOfIpcIoInit) {
    std::vector<char> buffer(IPC_IO_DATA_MAX + 1);
    IpcIo io;
    IpcIoInit(&io, buffer.data(), IPC_IO_DATA_MAX, 32);
    ASSERT_TRUE(IpcIoAvailable(&io));
    EXPECT_EQ(int32s_that_fit(&io), static_cast<int>((IPC_IO_DATA_MAX - 32 * sizeof(size_t)) / 4));
    IpcIoInit(&io, buffer.data(), IPC_IO_DATA_MAX + 1, 0);
    EXPECT_FALSE(IpcIoAvailable(&io));
    IpcIoInit(&io, buffer.data(), IPC_IO_DATA_MAX, LITEIPC_IO_MAX_OBJECTS + 1);
    EXPECT_FALSE(IpcIoAvailable(&io));

    // A string of IPC_IO_DATA_MAX bytes is refused, whatever the buffer; the larger IpcIo takes it.
    const std::string long_text(IPC_IO_DATA_MAX, 's');
    std::vector<char> large(LITEIPC_IO_LARGE_DATA_MAX);
    LiteIpcIoInitLarge(&io, large.data(), large.size(), 0);
    IpcIoPushString(&io, long_text.c_str());
    EXPECT_TRUE(IpcIoAvailable(&io));
    IpcIoInit(&io, buffer.data(), IPC_IO_DATA_MAX, 0);
    IpcIoPushString(&io, long_text.substr(1).c_str() + 4100);  // shorter strings are fine
    EXPECT_TRUE(IpcIoAvailable(&io));
    IpcIoInit(&io, buffer.data(), IPC_IO_DATA_MAX, 0);
    IpcIoPushString(&io, long_text.c_str());
    EXPECT_FALSE(IpcIoAvailable(&io));

    // The larger IpcIo: a visible choice, with its own limit.
    LiteIpcIoInitLarge(&io, large.data(), LITEIPC_IO_LARGE_DATA_MAX, 32);
    EXPECT_TRUE(IpcIoAvailable(&io));
    std::vector<char> too_large(LITEIPC_IO_LARGE_DATA_MAX + 1);
    LiteIpcIoInitLarge(&io, too_large.data(), too_large.size(), 0);
    EXPECT_FALSE(IpcIoAvailable(&io));
}

TEST(IpcIoCapacity, DataBuffersAreOutOfLine) {
    // A 64 KiB data buffer beside a 200-byte IpcIo: only its 24-byte reference is in the IpcIo.
    std::vector<char> data(LITEIPC_DATA_BUFF_MAX, 'd');
    alignas(8) char io200[200];
    IpcIo io;
    IpcIoInit(&io, io200, sizeof io200, 1);
    const BuffPtr buff{static_cast<uint32_t>(data.size()), data.data()};
    IpcIoPushDataBuff(&io, &buff);
    ASSERT_TRUE(IpcIoAvailable(&io));
    EXPECT_EQ(int32s_that_fit(&io), (200 - 8 - 24) / 4);

    // In process, the message from IpcIoGetMessage reads the buffer beside it.
    IpcIoInit(&io, io200, sizeof io200, 1);
    IpcIoPushDataBuff(&io, &buff);
    size_t size = 0;
    const void* message = IpcIoGetMessage(&io, &size);
    ASSERT_NE(message, nullptr);
    EXPECT_LT(size, 64u);
    IpcIo in;
    IpcIoInitFromBuffer(&in, message, size);
    const BuffPtr* received = IpcIoPopDataBuff(&in);
    ASSERT_NE(received, nullptr);
    ASSERT_EQ(received->buffSz, data.size());
    EXPECT_EQ(std::memcmp(received->buff, data.data(), data.size()), 0);

    // One byte past 64 KiB: refused by IpcIoInit's IpcIo, taken by the larger one.
    data.push_back('e');
    const BuffPtr past{static_cast<uint32_t>(data.size()), data.data()};
    IpcIoInit(&io, io200, sizeof io200, 1);
    IpcIoPushDataBuff(&io, &past);
    EXPECT_FALSE(IpcIoAvailable(&io));
    LiteIpcIoInitLarge(&io, io200, sizeof io200, 1);
    IpcIoPushDataBuff(&io, &past);
    EXPECT_TRUE(IpcIoAvailable(&io));
}

int g_frees = 0;
void count_free(void*) { ++g_frees; }

TEST(IpcIoCapacity, FreeFunctionsRunOnceEach) {
    // Up to the object limit, each with a free function (LiteIPC keeps a list without a cap).
    alignas(8) char buffer[1024];
    char bytes[32][4];
    IpcIo io;
    IpcIoInit(&io, buffer, sizeof buffer, 32);
    g_frees = 0;
    for (auto& item : bytes) {
        const BuffPtr buff{sizeof item, item};
        IpcIoPushDataBuffWithFree(&io, &buff, count_free);
    }
    ASSERT_TRUE(IpcIoAvailable(&io));
    IpcIoFreeDataBuff(&io);
    IpcIoFreeDataBuff(&io);
    EXPECT_EQ(g_frees, 32);
}

}  // namespace
