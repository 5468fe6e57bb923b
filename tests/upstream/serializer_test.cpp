// Counterpart of upstream's UtilsSerializerTest (communication_ipc test/unittest/c_lite/serializer):
// the newer C API's Write* / Read* as upstream's cases call them. Most cases write in a forked
// child into an IpcIo over a buffer, send `io.bufferCur - io.bufferBase` bytes down a pipe, and
// read them back in the parent through an IpcIo initialised over the buffer the bytes arrive in.
// Upstream's parent sleeps 2 s for the child; ours reads until the child closes the pipe, and the
// child's own expectations decide its exit status.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "../support/owned_pid.h"
#include "serializer.h"  // by its bare name, as upstream's test includes it

namespace {

using liteipc::testing::exit_code;
using liteipc::testing::fork_child;
using liteipc::testing::OwnedPid;

constexpr int BUFFER_SIZE = 200;
constexpr int SMALL_BUFFER_SIZE = 100;

struct TestData {
    bool boolTest;
    int8_t int8Test;
    int16_t int16Test;
    int32_t int32Test;
    uint8_t uint8Test;
    uint16_t uint16Test;
    uint32_t uint32Test;
};
struct Padded {
    char title;
    int32_t handle;
    uint64_t cookie;
};
struct Unpadded {
    char tip;
};

// Upstream's fork / pipe / IpcIoInit / read pattern around one case's writes and reads.
template <typename Write, typename Read>
void WriteInChildReadInParent(Write writeValues, Read readValues) {
    uint8_t buffer[BUFFER_SIZE] = {0};
    int fd[2];
    ASSERT_GE(pipe(fd), 0);
    OwnedPid writer = fork_child([&] {
        close(fd[0]);
        IpcIo io;
        IpcIoInit(&io, buffer, BUFFER_SIZE, 0);
        writeValues(&io);
        const ssize_t sent = write(fd[1], buffer, io.bufferCur - io.bufferBase);
        close(fd[1]);
        return sent == io.bufferCur - io.bufferBase && !::testing::Test::HasFailure() ? 0 : 1;
    });
    ASSERT_TRUE(writer);
    close(fd[1]);
    IpcIo io;
    IpcIoInit(&io, buffer, BUFFER_SIZE, 0);
    size_t got = 0;
    for (ssize_t n; (n = read(fd[0], buffer + got, sizeof buffer - got)) > 0;) got += static_cast<size_t>(n);
    close(fd[0]);
    EXPECT_EQ(exit_code(writer.wait()), 0) << "the writing child failed";
    EXPECT_GT(got, 0u);
    readValues(&io);
}

void WriteTestData(IpcIo* io, const TestData& data) {
    EXPECT_TRUE(WriteBool(io, data.boolTest));
    EXPECT_TRUE(WriteInt8(io, data.int8Test));
    EXPECT_TRUE(WriteInt16(io, data.int16Test));
    EXPECT_TRUE(WriteInt32(io, data.int32Test));
    EXPECT_TRUE(WriteUint8(io, data.uint8Test));
    EXPECT_TRUE(WriteUint16(io, data.uint16Test));
    EXPECT_TRUE(WriteUint32(io, data.uint32Test));
}

void ReadTestData(IpcIo* io, const TestData& data) {
    bool boolVal;
    EXPECT_TRUE(ReadBool(io, &boolVal));
    EXPECT_EQ(boolVal, data.boolTest);
    int8_t int8Val;
    EXPECT_TRUE(ReadInt8(io, &int8Val));
    EXPECT_EQ(int8Val, data.int8Test);
    int16_t int16Val;
    EXPECT_TRUE(ReadInt16(io, &int16Val));
    EXPECT_EQ(int16Val, data.int16Test);
    int32_t int32Val;
    EXPECT_TRUE(ReadInt32(io, &int32Val));
    EXPECT_EQ(int32Val, data.int32Test);
    uint8_t uint8Val;
    EXPECT_TRUE(ReadUint8(io, &uint8Val));
    EXPECT_EQ(uint8Val, data.uint8Test);
    uint16_t uint16Val;
    EXPECT_TRUE(ReadUint16(io, &uint16Val));
    EXPECT_EQ(uint16Val, data.uint16Test);
    uint32_t uint32Val;
    EXPECT_TRUE(ReadUint32(io, &uint32Val));
    EXPECT_EQ(uint32Val, data.uint32Test);
}

void WriteTestDataUnaligned(IpcIo* io, const TestData& data) {
    EXPECT_TRUE(WriteBoolUnaligned(io, data.boolTest));
    EXPECT_TRUE(WriteInt8Unaligned(io, data.int8Test));
    EXPECT_TRUE(WriteInt16Unaligned(io, data.int16Test));
    EXPECT_TRUE(WriteUint8Unaligned(io, data.uint8Test));
    EXPECT_TRUE(WriteUint16Unaligned(io, data.uint16Test));
}

void ReadTestDataUnaligned(IpcIo* io, const TestData& data) {
    bool boolVal;
    ReadBoolUnaligned(io, &boolVal);
    EXPECT_EQ(boolVal, data.boolTest);
    int8_t int8Val;
    EXPECT_TRUE(ReadInt8Unaligned(io, &int8Val));
    EXPECT_EQ(int8Val, data.int8Test);
    int16_t int16Val;
    EXPECT_TRUE(ReadInt16Unaligned(io, &int16Val));
    EXPECT_EQ(int16Val, data.int16Test);
    uint8_t uint8Val;
    EXPECT_TRUE(ReadUInt8Unaligned(io, &uint8Val));
    EXPECT_EQ(uint8Val, data.uint8Test);
    uint16_t uint16Val;
    EXPECT_TRUE(ReadUInt16Unaligned(io, &uint16Val));
    EXPECT_EQ(uint16Val, data.uint16Test);
}

// Equal element by element over the length read.
template <typename T>
void ExpectElements(const T* written, const T* read, size_t length) {
    ASSERT_NE(read, nullptr);
    for (size_t i = 0; i < length; i++) EXPECT_EQ(written[i], read[i]) << "element " << i;
}

// WriteAndRead_003 and Maximum_003: an int64 and a uint64.
void WriteAndReadInt64Pair(int64_t int64Test, uint64_t uint64Test) {
    WriteInChildReadInParent(
        [&](IpcIo* io) {
            EXPECT_TRUE(WriteInt64(io, int64Test));
            EXPECT_TRUE(WriteUint64(io, uint64Test));
        },
        [&](IpcIo* io) {
            int64_t int64Read;
            EXPECT_TRUE(ReadInt64(io, &int64Read));
            EXPECT_EQ(int64Read, int64Test);
            uint64_t uint64Read;
            EXPECT_TRUE(ReadUint64(io, &uint64Read));
            EXPECT_EQ(uint64Read, uint64Test);
        });
}

// The fixture of every case; the Abnormal cases use its IpcIo: initialised, then a write of
// nothing (NULL, or zero elements).
class UtilsSerializerTest : public ::testing::Test {
protected:
    void SetUp() override { IpcIoInit(&io, buffer, BUFFER_SIZE, 0); }
    IpcIo io;
    uint8_t buffer[BUFFER_SIZE] = {0};
    const Padded pad{};
    const uint64_t none[1] = {0};  // upstream's empty arrays: a valid pointer, zero elements
};

TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_001) {
    const TestData data = {true, -0x34, 0x5634, -0x12345678, 0x34, 0x5634, 0x12345678};
    WriteInChildReadInParent([&](IpcIo* io) { WriteTestData(io, data); }, [&](IpcIo* io) { ReadTestData(io, data); });
}

TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_002) {
    const TestData data = {true, -0x34, 0x5634, -0x12345678, 0x34, 0x5634, 0x12345678};
    WriteInChildReadInParent([&](IpcIo* io) { WriteTestDataUnaligned(io, data); },
                             [&](IpcIo* io) { ReadTestDataUnaligned(io, data); });
}

TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_003) {
    const int64_t int64Test = -0x1234567887654321;
    const uint64_t uint64Test = 0x1234567887654321;
    WriteAndReadInt64Pair(int64Test, uint64Test);
}

TEST_F(UtilsSerializerTest, test_serializer_String_001) {
    const char stringWrite1[] = "asdfgh";
    const char stringWrite2[] = "123456";
    WriteInChildReadInParent(
        [&](IpcIo* io) {
            EXPECT_TRUE(WriteString(io, stringWrite1));
            EXPECT_TRUE(WriteString(io, stringWrite2));
        },
        [&](IpcIo* io) {
            size_t len = 0;
            const uint8_t* stringRead1 = ReadString(io, &len);
            EXPECT_EQ(len, std::strlen(stringWrite1));
            ExpectElements(reinterpret_cast<const uint8_t*>(stringWrite1), stringRead1, len);
            const uint8_t* stringRead2 = ReadString(io, &len);
            EXPECT_EQ(len, std::strlen(stringWrite2));
            ExpectElements(reinterpret_cast<const uint8_t*>(stringWrite2), stringRead2, len);
        });
}

TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_String_002) {
    const uint16_t str16Write[] = {0x5634, 0x5635, 0x5636, 0x5637, 0x5638, 0x5639,
                                   0x5640, 0x5641, 0x5642, 0x5643, 0x5644, 0x5645};
    const size_t length = sizeof(str16Write) / sizeof(uint16_t);
    WriteInChildReadInParent([&](IpcIo* io) { EXPECT_TRUE(WriteString16(io, str16Write, length)); },
                             [&](IpcIo* io) {
                                 size_t readLength = 0;
                                 const uint16_t* str16Read = ReadString16(io, &readLength);
                                 EXPECT_EQ(readLength, length);
                                 ExpectElements(str16Write, str16Read, readLength);
                             });
}

TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Float_001) {
    const float floatWrite = 12.345678f;
    const double doubleWrite = 1345.7653;
    WriteInChildReadInParent(
        [&](IpcIo* io) {
            EXPECT_TRUE(WriteFloat(io, floatWrite));
            EXPECT_TRUE(WriteDouble(io, doubleWrite));
        },
        [&](IpcIo* io) {
            float floatRead;
            EXPECT_TRUE(ReadFloat(io, &floatRead));
            EXPECT_EQ(floatWrite, floatRead);
            double doubleRead;
            ReadDouble(io, &doubleRead);
            EXPECT_EQ(doubleWrite, doubleRead);
        });
}

TEST_F(UtilsSerializerTest, test_serializer_Data_Structure_001) {
    const Padded pad = {'p', 0x34567890, 0x2345678998765432};
    const Unpadded unpad = {'u'};
    WriteInChildReadInParent(
        [&](IpcIo* io) {
            EXPECT_TRUE(WriteBuffer(io, &pad, sizeof(Padded)));
            EXPECT_TRUE(WriteBuffer(io, &unpad, sizeof(Unpadded)));
        },
        [&](IpcIo* io) {
            const auto* padRead = reinterpret_cast<const Padded*>(ReadBuffer(io, sizeof(Padded)));
            ASSERT_NE(padRead, nullptr);
            EXPECT_EQ(pad.title, padRead->title);
            EXPECT_EQ(pad.handle, padRead->handle);
            EXPECT_EQ(pad.cookie, padRead->cookie);
            const auto* unpadRead = reinterpret_cast<const Unpadded*>(ReadBuffer(io, sizeof(Unpadded)));
            ASSERT_NE(unpadRead, nullptr);
            EXPECT_EQ(unpad.tip, unpadRead->tip);
        });
}

TEST_F(UtilsSerializerTest, test_serializer_WriteAndReadVector_Bool_001) {
    const bool boolTest[12] = {true, false, false, true, false, false, true, false, true, true, false, true};
    const size_t sizeBool = sizeof(boolTest) / sizeof(bool);
    WriteInChildReadInParent([&](IpcIo* io) { EXPECT_TRUE(WriteBoolVector(io, boolTest, sizeBool)); },
                             [&](IpcIo* io) {
                                 size_t readLen = 0;
                                 bool* boolRead = ReadBoolVector(io, &readLen);
                                 EXPECT_EQ(readLen, sizeBool);
                                 ExpectElements(boolTest, boolRead, readLen);
                                 free(boolRead);
                             });
}

// Two vectors of one case, written then read in order.
template <typename A, typename B, size_t N>
void VectorPair(const A (&first)[N], const B (&second)[N], bool (*writeA)(IpcIo*, const A*, size_t),
                bool (*writeB)(IpcIo*, const B*, size_t), A* (*readA)(IpcIo*, size_t*), B* (*readB)(IpcIo*, size_t*),
                bool freeSecond) {
    WriteInChildReadInParent(
        [&](IpcIo* io) {
            EXPECT_TRUE(writeA(io, first, N));
            EXPECT_TRUE(writeB(io, second, N));
        },
        [&](IpcIo* io) {
            size_t readLen = 0;
            A* firstRead = readA(io, &readLen);
            EXPECT_EQ(readLen, N);
            ExpectElements(first, firstRead, readLen);
            B* secondRead = readB(io, &readLen);
            EXPECT_EQ(readLen, N);
            ExpectElements(second, secondRead, readLen);
            if (freeSecond) free(secondRead);
        });
}

TEST_F(UtilsSerializerTest, test_serializer_Vector_001) {
    const int8_t int8Test[12] = {-0x27, -0x28, -0x29, -0x30, 0x31, 0x32, -0x33, -0x34, -0x35, -0x36, -0x37, -0x38};
    const int16_t int16Test[12] = {0x1234,  -0x2345, 0x3456, -0x4567, 0x5678, -0x1235,
                                   0x1236, 0x1237,  0x1238, -0x1239, 0x1240, 0x1241};
    VectorPair(int8Test, int16Test, WriteInt8Vector, WriteInt16Vector, ReadInt8Vector, ReadInt16Vector, true);
}

TEST_F(UtilsSerializerTest, test_serializer_Vector_002) {
    const int32_t int32Test[12] = {0x12345678,  -0x23456789, 0x34567890,  -0x45678901, 0x12345778, 0x12345878,
                                   -0x12345978, 0x12345878,  -0x12345818, 0x12345828,  0x12345838, 0x12345848};
    const int64_t int64Test[12] = {0x1234567887654321, -0x2345678998765432, 0x1234567887654300, 0x1234567887654301,
                                   0x1234567887654302, 0x1234567887654303,  -0x1234567887654304, 0x1234567887654305,
                                   0x1234567887654306, 0x1234567887654307,  0x1234567887654308, 0x1234567887654309};
    VectorPair(int32Test, int64Test, WriteInt32Vector, WriteInt64Vector, ReadInt32Vector, ReadInt64Vector, false);
}

TEST_F(UtilsSerializerTest, test_serializer_Vector_003) {
    const uint8_t uint8Test[12] = {0x01, 0x10, 0x20, 0x30, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47};
    const uint16_t uint16Test[12] = {0x1234, 0x2345, 0x3456, 0x4567, 0x5678, 0x1235,
                                     0x1236, 0x1237, 0x1238, 0x1239, 0x1240, 0x1241};
    VectorPair(uint8Test, uint16Test, WriteUInt8Vector, WriteUInt16Vector, ReadUInt8Vector, ReadUInt16Vector, false);
}

TEST_F(UtilsSerializerTest, test_serializer_Vector_004) {
    const uint32_t uint32Test[12] = {0x12345678, 0x23456789, 0x34567890, 0x45678901, 0x12345778, 0x12345878,
                                     0x12345978, 0x12345878, 0x12345818, 0x12345828, 0x12345838, 0x12345848};
    const uint64_t uint64Test[12] = {0x1234567887654321, 0x2345678998765432, 0x1234567887654300, 0x1234567887654301,
                                     0x1234567887654302, 0x1234567887654303, 0x1234567887654304, 0x1234567887654305,
                                     0x1234567887654306, 0x1234567887654307, 0x1234567887654308, 0x1234567887654309};
    VectorPair(uint32Test, uint64Test, WriteUInt32Vector, WriteUInt64Vector, ReadUInt32Vector, ReadUInt64Vector,
               false);
}

TEST_F(UtilsSerializerTest, test_serializer_Vector_005) {
    const float floatTest[12] = {11221.132313f, 11221.45678f, 11221.45608f, 11221.45618f, 11221.45628f, 11221.45638f,
                                 11221.45648f,  11221.45658f, 11221.45668f, 11221.45678f, 11221.45688f, 11221.45698f};
    const double doubleTest[12] = {1122.132313, 1122.45678,  1122.45678, 1122.45660, 1122.45661, 1122.45662,
                                   1122.45663,  1122.45664, 1122.456765, 1122.45666, 1122.45667, 1122.45668};
    VectorPair(floatTest, doubleTest, WriteFloatVector, WriteDoubleVector, ReadFloatVector, ReadDoubleVector, false);
}

TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_String_003) {
    const uint16_t interfaceTest[] = {0x5634, 0x5635, 0x5636, 0x5637, 0x5638, 0x5639,
                                      0x5640, 0x5641, 0x5642, 0x5643, 0x5644, 0x5645};
    const size_t len = sizeof(interfaceTest) / sizeof(uint16_t);
    WriteInChildReadInParent([&](IpcIo* io) { EXPECT_TRUE(WriteInterfaceToken(io, interfaceTest, len)); },
                             [&](IpcIo* io) {
                                 size_t length = 0;
                                 const uint16_t* interfaceRead = ReadInterfaceToken(io, &length);
                                 EXPECT_EQ(length, len);
                                 ExpectElements(interfaceTest, interfaceRead, length);
                             });
}

TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_String_004) {
    const Padded testData = {'p', 0x34567890, 0x2345678998765432};
    WriteInChildReadInParent([&](IpcIo* io) { EXPECT_TRUE(WriteRawData(io, &testData, sizeof(Padded))); },
                             [&](IpcIo* io) {
                                 const auto* dataRead = reinterpret_cast<const Padded*>(ReadRawData(io, sizeof(Padded)));
                                 ASSERT_NE(dataRead, nullptr);
                                 EXPECT_EQ(testData.title, dataRead->title);
                                 EXPECT_EQ(testData.handle, dataRead->handle);
                                 EXPECT_EQ(testData.cookie, dataRead->cookie);
                             });
}

TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Pointer_001) {
    static const char testData[] = "sjf";  // the same address in the forked child
    WriteInChildReadInParent([&](IpcIo* io) { EXPECT_TRUE(WritePointer(io, reinterpret_cast<uintptr_t>(testData))); },
                             [&](IpcIo* io) {
                                 const uintptr_t valueRead = ReadPointer(io);
                                 ASSERT_NE(valueRead, 0u);
                                 EXPECT_EQ(0, std::strcmp(testData, reinterpret_cast<const char*>(valueRead)));
                             });
}

TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_threshold_001) {
    IpcIo io;
    uint8_t buffer[SMALL_BUFFER_SIZE] = {0};
    IpcIoInit(&io, buffer, SMALL_BUFFER_SIZE, 0);
    const char* strwrite =
        "test for write string threshold********************************************************"
        "    #####################################################";
    EXPECT_FALSE(WriteString(&io, strwrite));
}

// Upstream writes to an IpcIo never initialised (stack garbage); ours is garbage on purpose.
TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_ioUninitialized_001) {
    IpcIo io;
    std::memset(&io, 0xa5, sizeof io);
    EXPECT_FALSE(WriteBool(&io, false));
    EXPECT_FALSE(WriteInt8(&io, -0x34));
}

TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Maximum_001) {
    const TestData data = {true, 0x7F, 0x7FFF, 0x7FFFFFFF, 0xFF, 0xFFFF, 0xFFFFFFFF};
    WriteInChildReadInParent([&](IpcIo* io) { WriteTestData(io, data); }, [&](IpcIo* io) { ReadTestData(io, data); });
}

TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Maximum_002) {
    const TestData data = {true, 0x7F, 0x7FFF, 0x7FFFFFFF, 0xFF, 0xFFFF, 0xFFFFFFFF};
    WriteInChildReadInParent([&](IpcIo* io) { WriteTestDataUnaligned(io, data); },
                             [&](IpcIo* io) { ReadTestDataUnaligned(io, data); });
}

TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Maximum_003) {
    const int64_t int64Test = 0x7FFFFFFFFFFFFFFF;
    const uint64_t uint64Test = 0xFFFFFFFFFFFFFFFF;
    WriteAndReadInt64Pair(int64Test, uint64Test);
}

TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Abnormal_String_001) {
    EXPECT_FALSE(WriteString(&io, nullptr));
}
TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Abnormal_String16_001) {
    EXPECT_FALSE(WriteString16(&io, reinterpret_cast<const uint16_t*>(none), 0));
}
TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Abnormal_Buffer_001) {
    EXPECT_FALSE(WriteBuffer(&io, &pad, 0));
}
TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Abnormal_InterfaceToken_001) {
    EXPECT_FALSE(WriteInterfaceToken(&io, reinterpret_cast<const uint16_t*>(none), 0));
}
TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Abnormal_RawData_001) {
    EXPECT_FALSE(WriteRawData(&io, &pad, 0));
}
TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Abnormal_BoolVector_001) {
    EXPECT_FALSE(WriteBoolVector(&io, reinterpret_cast<const bool*>(none), 0));
}
TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Abnormal_Int8Vector_001) {
    EXPECT_FALSE(WriteInt8Vector(&io, reinterpret_cast<const int8_t*>(none), 0));
}
TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Abnormal_Int16Vector_001) {
    EXPECT_FALSE(WriteInt16Vector(&io, reinterpret_cast<const int16_t*>(none), 0));
}
TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Abnormal_Int32Vector_001) {
    EXPECT_FALSE(WriteInt32Vector(&io, reinterpret_cast<const int32_t*>(none), 0));
}
TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Abnormal_Int64Vector_001) {
    EXPECT_FALSE(WriteInt64Vector(&io, reinterpret_cast<const int64_t*>(none), 0));
}
TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Abnormal_UInt8Vector_001) {
    EXPECT_FALSE(WriteUInt8Vector(&io, reinterpret_cast<const uint8_t*>(none), 0));
}
TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Abnormal_UInt16Vector_001) {
    EXPECT_FALSE(WriteUInt16Vector(&io, reinterpret_cast<const uint16_t*>(none), 0));
}
TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Abnormal_UInt32Vector_001) {
    EXPECT_FALSE(WriteUInt32Vector(&io, reinterpret_cast<const uint32_t*>(none), 0));
}
TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Abnormal_UInt64Vector_001) {
    EXPECT_FALSE(WriteUInt64Vector(&io, none, 0));
}
TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Abnormal_FloatVector_001) {
    EXPECT_FALSE(WriteFloatVector(&io, reinterpret_cast<const float*>(none), 0));
}
TEST_F(UtilsSerializerTest, test_serializer_WriteAndRead_Abnormal_DoubleVector_001) {
    EXPECT_FALSE(WriteDoubleVector(&io, reinterpret_cast<const double*>(none), 0));
}

}  // namespace
