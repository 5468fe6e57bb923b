// Parcel (liteipc::Writer / liteipc::Reader): round trips of every value and object, limits.
#include "parcel_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <vector>

namespace liteipc {
namespace {

using namespace parcel_testing;

TEST(Parcel, RoundTripsEveryScalar) {
    InlineWriter<1024> writer;
    writer.write_bool(true);
    writer.write_char('x');
    writer.write_int8(-8);
    writer.write_uint8(0xf8);
    writer.write_int16(-16000);
    writer.write_uint16(0xfedc);
    writer.write_int32(std::numeric_limits<int32_t>::min());
    writer.write_uint32(0xdeadbeef);
    writer.write_int64(std::numeric_limits<int64_t>::min());
    writer.write_uint64(0x0123456789abcdefULL);
    writer.write_float(1.5f);
    writer.write_double(-2.25);
    writer.write_intptr(-12345);
    writer.write_uintptr(~uintptr_t{0});
    const auto message = finished(writer);

    Reader reader(message);
    EXPECT_TRUE(reader.read_bool());
    EXPECT_EQ(reader.read_char(), 'x');
    EXPECT_EQ(reader.read_int8(), -8);
    EXPECT_EQ(reader.read_uint8(), 0xf8);
    EXPECT_EQ(reader.read_int16(), -16000);
    EXPECT_EQ(reader.read_uint16(), 0xfedc);
    EXPECT_EQ(reader.read_int32(), std::numeric_limits<int32_t>::min());
    EXPECT_EQ(reader.read_uint32(), 0xdeadbeef);
    EXPECT_EQ(reader.read_int64(), std::numeric_limits<int64_t>::min());
    EXPECT_EQ(reader.read_uint64(), 0x0123456789abcdefULL);
    EXPECT_EQ(reader.read_float(), 1.5f);
    EXPECT_EQ(reader.read_double(), -2.25);
    EXPECT_EQ(reader.read_intptr(), -12345);
    EXPECT_EQ(reader.read_uintptr(), ~uintptr_t{0});
    EXPECT_TRUE(reader.ok()) << reader.error_reason();
    EXPECT_EQ(reader.remaining(), 0u);
}

TEST(Parcel, SmallValuesAreWidenedToFourBytes) {
    InlineWriter<256> writer;
    writer.write_bool(true);
    writer.write_int8(-1);
    writer.write_uint16(7);
    EXPECT_EQ(writer.data_size(), 12u);
}

TEST(Parcel, UnalignedValuesArePackedAndAlignedOnesPadded) {
    InlineWriter<256> writer;
    writer.write_char_unaligned('a');
    writer.write_bool_unaligned(true);
    writer.write_int8_unaligned(-3);
    writer.write_uint8_unaligned(200);
    writer.write_int16_unaligned(-300);
    writer.write_uint16_unaligned(60000);
    EXPECT_EQ(writer.data_size(), 8u);
    writer.write_uint8_unaligned(9);
    writer.write_int32(42);  // padded from 9 to 12
    EXPECT_EQ(writer.data_size(), 16u);
    const auto message = finished(writer);
    EXPECT_EQ(message[sizeof(MessageHeader) + 9], std::byte{0});  // padding is zero

    Reader reader(message);
    EXPECT_EQ(reader.read_char_unaligned(), 'a');
    EXPECT_TRUE(reader.read_bool_unaligned());
    EXPECT_EQ(reader.read_int8_unaligned(), -3);
    EXPECT_EQ(reader.read_uint8_unaligned(), 200);
    EXPECT_EQ(reader.read_int16_unaligned(), -300);
    EXPECT_EQ(reader.read_uint16_unaligned(), 60000);
    EXPECT_EQ(reader.read_uint8_unaligned(), 9);
    EXPECT_EQ(reader.read_int32(), 42);
    EXPECT_TRUE(reader.ok()) << reader.error_reason();
}

TEST(Parcel, RoundTripsStringsBytesVectorsAndObjects) {
    InlineWriter<2048> writer;
    writer.write_string("hello");
    writer.write_string("");
    writer.write_string(std::string_view("nul\0inside", 10));
    const std::array<std::byte, 5> raw{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}, std::byte{5}};
    writer.write_bytes(raw);
    const std::vector<uint64_t> numbers{1, 2, 3, 0xffffffffffffULL};
    writer.write_vector<uint64_t>(numbers);
    writer.write_object(Point{3, -4, 0.5});
    const std::array<uint16_t, 3> shorts{1, 2, 3};
    writer.write_vector<uint16_t>(shorts);
    const auto message = finished(writer);

    Reader reader(message);
    EXPECT_EQ(reader.read_string_view(), "hello");
    EXPECT_EQ(reader.read_string(), "");
    EXPECT_EQ(reader.read_string_view(), std::string_view("nul\0inside", 10));
    const auto bytes = reader.read_bytes();
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), raw.begin(), raw.end()));
    EXPECT_EQ(reader.read_vector<uint64_t>(), numbers);
    EXPECT_EQ(reader.read_object<Point>(), (Point{3, -4, 0.5}));
    std::array<uint16_t, 8> out{};
    EXPECT_EQ(reader.read_vector<uint16_t>(out), 3u);
    EXPECT_EQ(out[2], 3);
    EXPECT_TRUE(reader.ok()) << reader.error_reason();
}

TEST(Parcel, RoundTripsFdWithOwnershipInTheMessage) {
    InlineWriter<256> writer;
    writer.write_fd(7);
    writer.write_int32(1);
    writer.write_fd(9);
    const auto message = finished(writer);
    EXPECT_EQ(header_of(message).object_count, 2u);

    // The transport delivered the fds as 100 and 101 in the receiver.
    std::array<int, 2> received{100, 101};
    Reader reader(message, {.fds = received});
    EXPECT_EQ(reader.read_fd(), 100);      // still owned by the message
    EXPECT_EQ(received[0], 100);
    EXPECT_EQ(reader.read_int32(), 1);
    EXPECT_EQ(reader.take_fd(), 101);      // now owned by the caller
    EXPECT_EQ(received[1], -1);            // the message won't close it
    EXPECT_TRUE(reader.ok()) << reader.error_reason();

    Reader in_process(message, {.raw_fds = true});
    EXPECT_EQ(in_process.take_fd(), 7);
    EXPECT_EQ(in_process.read_int32(), 1);
    EXPECT_EQ(in_process.read_fd(), 9);
    EXPECT_TRUE(in_process.ok());
}

TEST(Parcel, FdNotDeliveredIsAnError) {
    InlineWriter<256> writer;
    writer.write_fd(3);
    const auto message = finished(writer);
    Reader reader(message);  // no table, not raw
    EXPECT_EQ(reader.read_fd(), -1);
    EXPECT_EQ(reader.error(), ParcelError::bad_fd);

    std::array<int, 1> taken{-1};
    Reader again(message, {.fds = taken});
    EXPECT_EQ(again.take_fd(), -1);
    EXPECT_EQ(again.error(), ParcelError::bad_fd);
}

TEST(Parcel, RoundTripsServicesAndTranslatesThem) {
    InlineWriter<256> writer;
    writer.write_service({5, 6, 0x1122334455667788ULL});
    writer.write_service({MIN_BINDER_HANDLE, 1, 2});
    const auto message = finished(writer);

    Reader reader(message);
    const SvcIdentity first = reader.read_service();
    EXPECT_EQ(first.handle, 5u);
    EXPECT_EQ(first.token, 6u);
    EXPECT_EQ(first.cookie, 0x1122334455667788ULL);
    EXPECT_EQ(reader.read_service().handle, MIN_BINDER_HANDLE);
    EXPECT_TRUE(reader.ok());

    const std::array<SvcIdentity, 2> translated{SvcIdentity{40, 41, 42}, SvcIdentity{50, 51, 52}};
    Reader translating(message, {.services = translated});
    EXPECT_EQ(translating.read_service().handle, 40u);
    EXPECT_EQ(translating.read_service().cookie, 52u);
    EXPECT_TRUE(translating.ok());
}

TEST(Parcel, SmallDataBufferIsInline) {
    TestPool pool(1 << 16);
    InlineWriter<1024> writer(&pool);
    const std::string payload(kInlineBufferThreshold, 'p');
    writer.write_buffer(bytes_of(payload));
    writer.write_int32(77);
    const auto message = finished(writer);
    EXPECT_EQ(pool.allocations, 0);

    Reader reader(message);
    const auto buffer = reader.read_buffer();
    ASSERT_EQ(buffer.size(), payload.size());
    EXPECT_TRUE(std::equal(buffer.begin(), buffer.end(), bytes_of(payload).begin()));
    EXPECT_GE(buffer.data(), message.data());
    EXPECT_LT(buffer.data(), message.data() + message.size());
    EXPECT_EQ(reader.read_int32(), 77);
    EXPECT_TRUE(reader.ok()) << reader.error_reason();
}

TEST(Parcel, LargeDataBufferIsAPoolReference) {
    TestPool pool(1 << 16);
    InlineWriter<1024> writer(&pool);
    writer.write_int32(1);
    const std::string payload(kInlineBufferThreshold + 1, 'q');
    writer.write_buffer(bytes_of(payload));
    const std::span<std::byte> in_place = writer.reserve_buffer(4096);
    ASSERT_EQ(in_place.size(), 4096u);
    std::fill(in_place.begin(), in_place.end(), std::byte{0x5a});
    writer.write_int32(2);
    const auto message = finished(writer);
    EXPECT_EQ(pool.allocations, 2);
    EXPECT_LT(message.size(), 200u);  // references, not copies

    Reader reader(message, {.peer_pool = pool.mapping()});
    EXPECT_EQ(reader.read_int32(), 1);
    const auto first = reader.read_buffer();
    ASSERT_EQ(first.size(), payload.size());
    EXPECT_TRUE(std::equal(first.begin(), first.end(), bytes_of(payload).begin()));
    EXPECT_GE(first.data(), pool.mapping().data());  // read in place
    const auto second = reader.read_buffer();
    ASSERT_EQ(second.size(), 4096u);
    EXPECT_EQ(second[4095], std::byte{0x5a});
    EXPECT_EQ(reader.read_int32(), 2);
    EXPECT_TRUE(reader.ok()) << reader.error_reason();

    Reader without_pool(message);
    without_pool.read_int32();
    EXPECT_TRUE(without_pool.read_buffer().empty());
    EXPECT_EQ(without_pool.error(), ParcelError::no_pool);
}

TEST(Parcel, WithoutAllocatorLargeBufferIsCopiedInline) {
    std::vector<std::byte> storage(kMaxMessageSize);
    Writer writer(storage);
    const std::vector<std::byte> payload(8192, std::byte{3});
    writer.write_buffer(payload);
    const auto message = finished(writer);
    Reader reader(message);
    EXPECT_EQ(reader.read_buffer().size(), 8192u);
    EXPECT_TRUE(reader.ok());
}

TEST(Parcel, PoolRefusalIsStickyError) {
    TestPool pool(1 << 16);
    pool.refuse = true;
    InlineWriter<1024> writer(&pool);
    writer.write_buffer(std::vector<std::byte>(1000));
    EXPECT_EQ(writer.error(), ParcelError::pool_exhausted);
    EXPECT_FALSE(writer.finish().has_value());
}

namespace release_log {
std::vector<void*>* released = nullptr;
void record(void* ptr) { released->push_back(ptr); }
}  // namespace release_log

TEST(Parcel, BufferReleaseRunsOnceAfterTheMessageIsDone) {
    std::vector<void*> released;
    release_log::released = &released;
    std::array<std::byte, 16> a{}, b{};
    {
        InlineWriter<512> writer;
        writer.write_buffer(a, {release_log::record, a.data()});
        writer.write_buffer(b, {release_log::record, b.data()});
        EXPECT_TRUE(released.empty());
        writer.release_buffers();
        EXPECT_EQ(released.size(), 2u);
        writer.release_buffers();
        EXPECT_EQ(released.size(), 2u);
        writer.write_buffer(a, {release_log::record, a.data()});
    }  // the destructor releases what's left
    EXPECT_EQ(released.size(), 3u);
}

TEST(Parcel, BoundarySizesFitExactly) {
    // Header + length + string + terminator fill the buffer exactly.
    std::vector<std::byte> storage(sizeof(MessageHeader) + 4 + 12);
    Writer exact(storage);
    exact.write_string(std::string(11, 's'));
    EXPECT_TRUE(exact.finish().has_value()) << exact.error_reason();

    Writer over(storage);
    over.write_string(std::string(12, 's'));
    EXPECT_EQ(over.error(), ParcelError::out_of_space);

    // An object needs its 24 bytes plus its offsets entry.
    std::vector<std::byte> object_storage(sizeof(MessageHeader) + sizeof(WireObject) + 4);
    Writer fits(object_storage);
    fits.write_fd(1);
    EXPECT_TRUE(fits.finish().has_value()) << fits.error_reason();
    std::vector<std::byte> short_storage(object_storage.size() - 1);
    Writer too_small(short_storage);
    too_small.write_fd(1);
    EXPECT_EQ(too_small.error(), ParcelError::out_of_space);

    // The largest string in the largest message.
    std::vector<std::byte> big(kMaxMessageSize);
    Writer largest(big);
    largest.write_string(std::string(kMaxStringLength, 'L'));
    auto message = largest.finish();
    ASSERT_TRUE(message.has_value()) << largest.error_reason();
    Reader reader(*message);
    EXPECT_EQ(reader.read_string_view().size(), kMaxStringLength);
    EXPECT_TRUE(reader.ok());

    Writer too_long(big);
    too_long.write_string(std::string(kMaxStringLength + 1, 'L'));
    EXPECT_EQ(too_long.error(), ParcelError::invalid_argument);
}

TEST(Parcel, ObjectCountLimit) {
    std::vector<std::byte> storage(kMaxMessageSize);
    Writer writer(storage);
    for (size_t i = 0; i < kMaxObjects; ++i) writer.write_fd(static_cast<int>(i));
    EXPECT_TRUE(writer.ok());
    writer.write_fd(99);
    EXPECT_EQ(writer.error(), ParcelError::too_many_objects);

    std::array<std::byte, 512> small{};
    Writer capped(small, nullptr, 1);
    capped.write_service({});
    capped.write_service({});
    EXPECT_EQ(capped.error(), ParcelError::too_many_objects);
}

TEST(Parcel, WriterErrorsAreSticky) {
    std::array<std::byte, 24> storage{};
    Writer writer(storage);
    writer.write_int64(1);
    writer.write_int32(2);  // 16 + 8 + 4 > 24
    EXPECT_EQ(writer.error(), ParcelError::out_of_space);
    EXPECT_STRNE(writer.error_reason(), "");
    writer.write_fd(-1);
    EXPECT_EQ(writer.error(), ParcelError::out_of_space);  // the first error stays
    const auto result = writer.finish();
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, Errc::no_memory);

    InlineWriter<64> bad_fd;
    bad_fd.write_fd(-5);
    EXPECT_EQ(bad_fd.error(), ParcelError::invalid_argument);

    InlineWriter<64> sealed;
    sealed.write_int32(1);
    ASSERT_TRUE(sealed.finish().has_value());
    sealed.write_int32(2);
    EXPECT_EQ(sealed.error(), ParcelError::sealed);

    std::array<std::byte, 8> tiny{};
    Writer no_room(tiny);
    EXPECT_EQ(no_room.error(), ParcelError::out_of_space);
}

TEST(Parcel, ParsedLayoutListsEveryObjectForTheTransport) {
    TestPool pool(1 << 16);
    InlineWriter<1024> writer(&pool);
    writer.write_int32(1);
    writer.write_fd(11);
    writer.write_service({1, 2, 3});
    writer.write_buffer(std::vector<std::byte>(1000));
    writer.write_fd(12);
    const auto message = finished(writer);

    const auto layout = MessageLayout::parse(message);
    ASSERT_TRUE(layout.has_value()) << layout.error().describe();
    ASSERT_EQ(layout->object_count, 4u);
    std::vector<int> fds;
    for (size_t i = 0; i < layout->object_count; ++i) {
        const WireObject object = layout->object(message, i);
        if (object.type == OBJ_FD) fds.push_back(object.as<WireFd>().fd);
    }
    EXPECT_EQ(fds, (std::vector<int>{11, 12}));
    EXPECT_EQ(layout->object(message, 2).flags, kBufferInPool);
    EXPECT_EQ(layout->object(message, 2).as<WireBuffer>().length, 1000u);
}

}  // namespace
}  // namespace liteipc
