// The newer C API's Write* / Read* (rpc/serializer.h): every pair round-trips, in upstream's
// idiom (IpcIoInit on a stack buffer, Write*, then Read* on the received side), and failures are
// sticky and named by a false / NULL.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "ipc_skeleton.h"  // by its bare name, as upstream code includes it
#include "rpc_errno.h"

// The in-process sealing of liteipc's IpcIo (declared by the older API's header, which this
// translation unit cannot include beside the newer one).
extern "C" const void* IpcIoGetMessage(IpcIo* io, size_t* size);
extern "C" void IpcIoInitFromBuffer(IpcIo* io, const void* msg, size_t size);
extern "C" bool IpcIoAvailable(IpcIo* io);

namespace {

class SkeletonSerializerTest : public ::testing::Test {
protected:
    void reopen() {
        size_t size = 0;
        const void* message = IpcIoGetMessage(&out, &size);
        ASSERT_NE(message, nullptr);
        IpcIoInitFromBuffer(&in, message, size);
    }
    alignas(8) uint8_t buffer[4096];
    IpcIo out;
    IpcIo in;
};

TEST_F(SkeletonSerializerTest, EveryWriteReadPairRoundTrips) {
    IpcIoInit(&out, buffer, sizeof buffer, 4);
    EXPECT_TRUE(WriteBool(&out, true));
    EXPECT_TRUE(WriteInt8(&out, -8));
    EXPECT_TRUE(WriteInt16(&out, -1600));
    EXPECT_TRUE(WriteInt32(&out, std::numeric_limits<int32_t>::min()));
    EXPECT_TRUE(WriteInt64(&out, -(int64_t{1} << 40)));
    EXPECT_TRUE(WriteUint8(&out, 250));
    EXPECT_TRUE(WriteUint16(&out, 65000));
    EXPECT_TRUE(WriteUint32(&out, 0xfeedfaceu));
    EXPECT_TRUE(WriteUint64(&out, ~uint64_t{0}));
    EXPECT_TRUE(WriteBoolUnaligned(&out, true));
    EXPECT_TRUE(WriteInt8Unaligned(&out, -9));
    EXPECT_TRUE(WriteInt16Unaligned(&out, -1601));
    EXPECT_TRUE(WriteUint8Unaligned(&out, 251));
    EXPECT_TRUE(WriteUint16Unaligned(&out, 65001));
    EXPECT_TRUE(WriteFloat(&out, 0.25f));
    EXPECT_TRUE(WriteDouble(&out, 1e300));
    EXPECT_TRUE(WritePointer(&out, 0x1234567890abcdefULL));
    EXPECT_TRUE(WriteString(&out, "samgr"));
    const uint16_t text16[] = {'s', 'v', 'c'};
    EXPECT_TRUE(WriteString16(&out, text16, 3));
    const uint16_t token[] = {'o', 'h', 'o', 's'};
    EXPECT_TRUE(WriteInterfaceToken(&out, token, 4));
    const char raw[] = "0123456789";
    EXPECT_TRUE(WriteBuffer(&out, raw, 10));
    EXPECT_TRUE(WriteRawData(&out, raw, 7));
    const bool bools[] = {true, false, true};
    const int8_t int8s[] = {-1, 2, -3, 4, -5};
    const int16_t int16s[] = {-300, 301};
    const int32_t int32s[] = {-70000, 70001, 7};
    const int64_t int64s[] = {-(int64_t{1} << 50), 5};
    const uint8_t uint8s[] = {200, 201, 202};
    const uint16_t uint16s[] = {60000, 60001, 60002};
    const uint32_t uint32s[] = {4000000000u};
    const uint64_t uint64s[] = {~uint64_t{0} - 1, 3};
    const float floats[] = {0.5f, -1.5f};
    const double doubles[] = {1e-300, 2.5, -3.25};
    EXPECT_TRUE(WriteBoolVector(&out, bools, 3));
    EXPECT_TRUE(WriteInt8Vector(&out, int8s, 5));
    EXPECT_TRUE(WriteInt16Vector(&out, int16s, 2));
    EXPECT_TRUE(WriteInt32Vector(&out, int32s, 3));
    EXPECT_TRUE(WriteInt64Vector(&out, int64s, 2));
    EXPECT_TRUE(WriteUInt8Vector(&out, uint8s, 3));
    EXPECT_TRUE(WriteUInt16Vector(&out, uint16s, 3));
    EXPECT_TRUE(WriteUInt32Vector(&out, uint32s, 1));
    EXPECT_TRUE(WriteUInt64Vector(&out, uint64s, 2));
    EXPECT_TRUE(WriteFloatVector(&out, floats, 2));
    EXPECT_TRUE(WriteDoubleVector(&out, doubles, 3));
    EXPECT_TRUE(WriteFileDescriptor(&out, 5));
    reopen();

    bool b = false;
    int8_t i8 = 0;
    int16_t i16 = 0;
    int32_t i32 = 0;
    int64_t i64 = 0;
    uint8_t u8 = 0;
    uint16_t u16 = 0;
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    float f = 0;
    double d = 0;
    EXPECT_TRUE(ReadBool(&in, &b) && b);
    EXPECT_TRUE(ReadInt8(&in, &i8) && i8 == -8);
    EXPECT_TRUE(ReadInt16(&in, &i16) && i16 == -1600);
    EXPECT_TRUE(ReadInt32(&in, &i32) && i32 == std::numeric_limits<int32_t>::min());
    EXPECT_TRUE(ReadInt64(&in, &i64) && i64 == -(int64_t{1} << 40));
    EXPECT_TRUE(ReadUint8(&in, &u8) && u8 == 250);
    EXPECT_TRUE(ReadUint16(&in, &u16) && u16 == 65000);
    EXPECT_TRUE(ReadUint32(&in, &u32) && u32 == 0xfeedfaceu);
    EXPECT_TRUE(ReadUint64(&in, &u64) && u64 == ~uint64_t{0});
    b = false;
    EXPECT_TRUE(ReadBoolUnaligned(&in, &b) && b);
    EXPECT_TRUE(ReadInt8Unaligned(&in, &i8) && i8 == -9);
    EXPECT_TRUE(ReadInt16Unaligned(&in, &i16) && i16 == -1601);
    EXPECT_TRUE(ReadUInt8Unaligned(&in, &u8) && u8 == 251);
    EXPECT_TRUE(ReadUInt16Unaligned(&in, &u16) && u16 == 65001);
    EXPECT_TRUE(ReadFloat(&in, &f) && f == 0.25f);
    EXPECT_TRUE(ReadDouble(&in, &d) && d == 1e300);
    EXPECT_EQ(ReadPointer(&in), 0x1234567890abcdefULL);
    size_t length = 0;
    EXPECT_STREQ(reinterpret_cast<const char*>(ReadString(&in, &length)), "samgr");
    EXPECT_EQ(length, 5u);
    const uint16_t* in16 = ReadString16(&in, &length);
    ASSERT_NE(in16, nullptr);
    ASSERT_EQ(length, 3u);
    EXPECT_EQ(std::memcmp(in16, text16, sizeof text16), 0);
    EXPECT_EQ(in16[3], 0) << "terminated";
    const uint16_t* token_in = ReadInterfaceToken(&in, &length);
    ASSERT_NE(token_in, nullptr);
    ASSERT_EQ(length, 4u);
    EXPECT_EQ(std::memcmp(token_in, token, sizeof token), 0);
    const uint8_t* raw_in = ReadBuffer(&in, 10);
    ASSERT_NE(raw_in, nullptr);
    EXPECT_EQ(std::memcmp(raw_in, raw, 10), 0);
    const void* raw_data = ReadRawData(&in, 7);
    ASSERT_NE(raw_data, nullptr);
    EXPECT_EQ(std::memcmp(raw_data, raw, 7), 0);

    size_t n = 0;
    bool* bools_in = ReadBoolVector(&in, &n);
    ASSERT_EQ(n, 3u);
    EXPECT_TRUE(bools_in[0] && !bools_in[1] && bools_in[2]);
    std::free(bools_in);  // the caller's, as upstream
    const int8_t* int8s_in = ReadInt8Vector(&in, &n);
    ASSERT_EQ(n, 5u);
    EXPECT_EQ(std::memcmp(int8s_in, int8s, sizeof int8s), 0);
    int16_t* int16s_in = ReadInt16Vector(&in, &n);
    ASSERT_EQ(n, 2u);
    EXPECT_EQ(int16s_in[0], -300);
    EXPECT_EQ(int16s_in[1], 301);
    std::free(int16s_in);
    const int32_t* int32s_in = ReadInt32Vector(&in, &n);
    ASSERT_EQ(n, 3u);
    EXPECT_EQ(std::memcmp(int32s_in, int32s, sizeof int32s), 0);
    const int64_t* int64s_in = ReadInt64Vector(&in, &n);
    ASSERT_EQ(n, 2u);
    EXPECT_EQ(std::memcmp(int64s_in, int64s, sizeof int64s), 0);
    const uint8_t* uint8s_in = ReadUInt8Vector(&in, &n);
    ASSERT_EQ(n, 3u);
    EXPECT_EQ(std::memcmp(uint8s_in, uint8s, sizeof uint8s), 0);
    const uint16_t* uint16s_in = ReadUInt16Vector(&in, &n);
    ASSERT_EQ(n, 3u);
    EXPECT_EQ(std::memcmp(uint16s_in, uint16s, sizeof uint16s), 0);
    const uint32_t* uint32s_in = ReadUInt32Vector(&in, &n);
    ASSERT_EQ(n, 1u);
    EXPECT_EQ(uint32s_in[0], 4000000000u);
    const uint64_t* uint64s_in = ReadUInt64Vector(&in, &n);
    ASSERT_EQ(n, 2u);
    EXPECT_EQ(std::memcmp(uint64s_in, uint64s, sizeof uint64s), 0);
    const float* floats_in = ReadFloatVector(&in, &n);
    ASSERT_EQ(n, 2u);
    EXPECT_EQ(std::memcmp(floats_in, floats, sizeof floats), 0);
    const double* doubles_in = ReadDoubleVector(&in, &n);
    ASSERT_EQ(n, 3u);
    EXPECT_EQ(std::memcmp(doubles_in, doubles, sizeof doubles), 0);
    EXPECT_EQ(ReadFileDescriptor(&in), 5) << "in process, the sender's own number";

    // Past the end: false, and the io stays failed.
    EXPECT_FALSE(ReadInt32(&in, &i32));
    EXPECT_FALSE(ReadBool(&in, &b));
    EXPECT_EQ(ReadString(&in, &length), nullptr);
}

TEST_F(SkeletonSerializerTest, MisreadsAndLimitsFail) {
    IpcIoInit(&out, buffer, sizeof buffer, 1);
    EXPECT_TRUE(WriteInt32(&out, 1));
    EXPECT_TRUE(WriteRawData(&out, "abc", 3));
    reopen();
    int32_t value = 0;
    EXPECT_TRUE(ReadInt32(&in, &value));
    EXPECT_EQ(ReadRawData(&in, 4), nullptr) << "raw data of another size";
    EXPECT_FALSE(ReadInt32(&in, &value));

    // A reference or fd read where a value is: refused.
    IpcIoInit(&out, buffer, sizeof buffer, 1);
    EXPECT_TRUE(WriteInt32(&out, 7));
    reopen();
    SvcIdentity svc;
    EXPECT_FALSE(ReadRemoteObject(&in, &svc));
    EXPECT_EQ(ReadFileDescriptor(&in), -1);

    // LiteIPC's capacity: 64 bytes hold 16 int32, not 17; strings of 8 KiB are refused.
    uint8_t small[64];
    IpcIoInit(&out, small, sizeof small, 0);
    for (int i = 0; i < 16; ++i) EXPECT_TRUE(WriteInt32(&out, i));
    EXPECT_FALSE(WriteInt32(&out, 16));
    EXPECT_FALSE(WriteBool(&out, true)) << "sticky";
    std::vector<uint8_t> large(8192);
    IpcIoInit(&out, large.data(), large.size(), 0);
    const std::string text(8192, 't');
    EXPECT_FALSE(WriteString(&out, text.c_str()));
    IpcIoInit(&out, large.data(), large.size(), 0);
    EXPECT_FALSE(WriteBuffer(&out, text.data(), text.size()));
    IpcIoInit(&out, large.data(), large.size() + 1, 0);
    EXPECT_FALSE(WriteInt32(&out, 1)) << "IpcIoInit takes at most 8 KiB";

    // Null arguments.
    IpcIoInit(&out, buffer, sizeof buffer, 1);
    EXPECT_FALSE(WriteString(&out, nullptr));
    IpcIoInit(&out, buffer, sizeof buffer, 1);
    EXPECT_FALSE(WriteRemoteObject(&out, nullptr));
    EXPECT_FALSE(ReadInt32(nullptr, &value));
    EXPECT_FALSE(WriteInt32(nullptr, 1));
}

// Upstream's public fields follow the writes and the reads (liteipc/ipcio_layout.h).
TEST_F(SkeletonSerializerTest, UpstreamsPublicFieldsFollowWritesAndReads) {
    IpcIoInit(&out, buffer, 200, 2);  // 2 objects: 16 bytes of offsets, 184 of data
    EXPECT_EQ(out.bufferBase, reinterpret_cast<char*>(buffer));
    EXPECT_EQ(out.bufferCur, out.bufferBase);
    EXPECT_EQ(out.bufferLeft, 184u);
    EXPECT_EQ(out.offsetsLeft, 2u);
    ASSERT_TRUE(WriteInt32(&out, 7));
    EXPECT_EQ(out.bufferCur - out.bufferBase, 4);
    EXPECT_EQ(out.bufferLeft, 180u);
    int32_t seven = 0;
    std::memcpy(&seven, out.bufferBase, sizeof seven);
    EXPECT_EQ(seven, 7) << "the data is in the caller's buffer, from its start";
    ASSERT_TRUE(WriteFileDescriptor(&out, STDIN_FILENO));
    EXPECT_EQ(out.offsetsLeft, 1u);
    ASSERT_TRUE(WriteString(&out, "abc"));  // 4 + 4 bytes
    const size_t written = static_cast<size_t>(out.bufferCur - out.bufferBase);
    reopen();
    EXPECT_EQ(in.bufferCur, in.bufferBase);
    EXPECT_EQ(in.bufferLeft, written);
    EXPECT_EQ(in.offsetsLeft, 1u);
    ASSERT_TRUE(ReadInt32(&in, &seven));
    EXPECT_EQ(in.bufferCur - in.bufferBase, 4);
    EXPECT_EQ(in.bufferLeft, written - 4);
    EXPECT_GE(ReadFileDescriptor(&in), 0);
    EXPECT_EQ(in.offsetsLeft, 0u);
    size_t length = 0;
    EXPECT_NE(ReadString(&in, &length), nullptr);
    EXPECT_EQ(in.bufferLeft, 0u);
    EXPECT_EQ(in.offsetsBase, nullptr) << "liteipc keeps the objects' offsets itself";
}

// IpcIoAppend: what src holds follows what dst holds, read in order; an src with objects, or
// one byte more than dst has room for, is refused and dst is left as it was.
TEST_F(SkeletonSerializerTest, IpcIoAppendAppendsValuesAndRefusesWhatItCannot) {
    alignas(8) uint8_t more[64];
    IpcIo tail;
    IpcIoInit(&out, buffer, sizeof buffer, 0);
    IpcIoInit(&tail, more, sizeof more, 0);
    ASSERT_TRUE(WriteInt32(&out, 1));
    ASSERT_TRUE(WriteString(&tail, "two"));
    ASSERT_TRUE(WriteInt64(&tail, 3));
    ASSERT_TRUE(IpcIoAppend(&out, &tail));
    ASSERT_TRUE(WriteBoolUnaligned(&out, true));
    reopen();
    int32_t one = 0;
    int64_t three = 0;
    bool four = false;
    size_t length = 0;
    EXPECT_TRUE(ReadInt32(&in, &one));
    EXPECT_EQ(one, 1);
    EXPECT_STREQ(reinterpret_cast<const char*>(ReadString(&in, &length)), "two");
    EXPECT_TRUE(ReadInt64(&in, &three));
    EXPECT_EQ(three, 3);
    EXPECT_TRUE(ReadBoolUnaligned(&in, &four));
    EXPECT_TRUE(four);

    // An src with a file descriptor: refused, dst unchanged.
    alignas(8) uint8_t with_fd[64];
    IpcIo objects;
    IpcIoInit(&objects, with_fd, sizeof with_fd, 1);
    ASSERT_TRUE(WriteFileDescriptor(&objects, STDIN_FILENO));
    IpcIoInit(&out, buffer, sizeof buffer, 0);
    ASSERT_TRUE(WriteInt32(&out, 5));
    EXPECT_FALSE(IpcIoAppend(&out, &objects));
    ASSERT_TRUE(IpcIoAvailable(&out));

    // dst with room for 16 int32: 15 written, an src of 2 is one past it.
    alignas(8) uint8_t small[64];
    IpcIo full;
    IpcIoInit(&full, small, sizeof small, 0);
    for (int i = 0; i < 15; ++i) ASSERT_TRUE(WriteInt32(&full, i));
    IpcIoInit(&tail, more, sizeof more, 0);
    ASSERT_TRUE(WriteInt32(&tail, 15));
    ASSERT_TRUE(WriteInt32(&tail, 16));
    EXPECT_FALSE(IpcIoAppend(&full, &tail));
    EXPECT_TRUE(IpcIoAvailable(&full)) << "a refused append leaves dst usable";
    IpcIoInit(&full, small, sizeof small, 0);
    for (int i = 0; i < 15; ++i) ASSERT_TRUE(WriteInt32(&full, i));
    IpcIoInit(&tail, more, sizeof more, 0);
    ASSERT_TRUE(WriteInt32(&tail, 15));
    EXPECT_TRUE(IpcIoAppend(&full, &tail)) << "exactly full";
    EXPECT_FALSE(IpcIoAppend(nullptr, &tail));
    EXPECT_FALSE(IpcIoAppend(&out, nullptr));
}

TEST(SkeletonOptions, MessageOptionInitIsSynchronousWithTheDefaultWait) {
    MessageOption option;
    ASSERT_EQ(MessageOptionInit(&option), ERR_NONE);
    EXPECT_EQ(option.flags, static_cast<uint32_t>(TF_OP_SYNC));
    EXPECT_EQ(option.waitTime, 4u);
    EXPECT_EQ(option.args, nullptr);
    EXPECT_EQ(MessageOptionInit(nullptr), ERR_INVALID_PARAM);
    EXPECT_EQ(GetContextObject()->handle, 0);
    EXPECT_EQ(GetCallingPid(), ::getpid()) << "outside a handler: this process";
    EXPECT_EQ(FreeBuffer(nullptr), ERR_INVALID_PARAM);
}

}  // namespace
