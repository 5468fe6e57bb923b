// Parcel (liteipc::Writer / liteipc::Reader): round trips, limits, and hostile messages.
#include "liteipc/parcel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>
#include <vector>

// Counts global allocations to prove the write/read path allocates nothing. Weak, so a
// stronger replacement elsewhere in the test binary wins; the test then checks that counting
// is really active before trusting a zero.
namespace {
std::atomic<size_t> g_allocations{0};
}
__attribute__((weak)) void* operator new(size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
__attribute__((weak)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((weak)) void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace liteipc {
namespace {

std::span<const std::byte> bytes_of(std::string_view text) {
    return std::as_bytes(std::span(text.data(), text.size()));
}

struct Point {
    int32_t x;
    int32_t y;
    double weight;
    bool operator==(const Point&) const = default;
};

// A pool of the test's own memory: the "sender's pool" and the "receiver's mapping" are the
// same bytes here.
class TestPool final : public PoolAllocator {
public:
    explicit TestPool(size_t size) : memory_(size) {}
    std::optional<PoolSpan> allocate(size_t size) override {
        ++allocations;
        if (refuse || size > memory_.size() - used_) return std::nullopt;
        PoolSpan span{used_, std::span(memory_).subspan(used_, size)};
        used_ += (size + 63) & ~size_t{63};
        return span;
    }
    std::span<const std::byte> mapping() const { return memory_; }
    int allocations = 0;
    bool refuse = false;

private:
    std::vector<std::byte> memory_;
    size_t used_ = 0;
};

// Copies a finished message so tests can corrupt it.
std::vector<std::byte> finished(Writer& writer) {
    auto message = writer.finish();
    EXPECT_TRUE(message.has_value()) << writer.error_reason();
    if (!message) return {};
    return {message->begin(), message->end()};
}

MessageHeader header_of(std::span<const std::byte> message) {
    MessageHeader header;
    std::memcpy(&header, message.data(), sizeof header);
    return header;
}

void set_header(std::vector<std::byte>& message, const MessageHeader& header) {
    std::memcpy(message.data(), &header, sizeof header);
}

size_t offsets_position(std::span<const std::byte> message) {
    const auto header = header_of(message);
    return sizeof(MessageHeader) + ((header.data_size + 3) & ~3u);
}

void set_offset(std::vector<std::byte>& message, size_t index, uint32_t position) {
    std::memcpy(message.data() + offsets_position(message) + index * 4, &position, 4);
}

template <typename T>
void poke(std::vector<std::byte>& message, size_t data_position, T value) {
    std::memcpy(message.data() + sizeof(MessageHeader) + data_position, &value, sizeof value);
}

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

// Hostile messages ------------------------------------------------------------------------------

TEST(ParcelHostile, ReadPastTheEndGivesZerosAndStickyError) {
    InlineWriter<64> writer;
    writer.write_int32(5);
    const auto message = finished(writer);
    Reader reader(message);
    EXPECT_EQ(reader.read_int32(), 5);
    EXPECT_EQ(reader.read_int64(), 0);
    EXPECT_EQ(reader.error(), ParcelError::truncated);
    EXPECT_STRNE(reader.error_reason(), "");
    EXPECT_EQ(reader.read_uint8_unaligned(), 0);
    EXPECT_EQ(reader.read_string_view(), "");
    EXPECT_EQ(reader.read_fd(), -1);
    EXPECT_EQ(reader.read_service().handle, 0u);
    EXPECT_TRUE(reader.read_buffer().empty());
    EXPECT_EQ(reader.read_object<Point>(), Point{});
    EXPECT_EQ(reader.error(), ParcelError::truncated);
    EXPECT_EQ(reader.status().error().code, Errc::malformed);
}

TEST(ParcelHostile, BadHeaders) {
    InlineWriter<64> writer;
    writer.write_int32(5);
    const auto good = finished(writer);

    EXPECT_EQ(Reader().error(), ParcelError::bad_header);
    EXPECT_EQ(Reader(std::span(good).first(15)).error(), ParcelError::bad_header);
    EXPECT_EQ(Reader(std::span(good).first(good.size() - 1)).error(), ParcelError::bad_header);

    auto wrong_magic = good;
    auto header = header_of(good);
    header.magic ^= 1;
    set_header(wrong_magic, header);
    EXPECT_EQ(Reader(wrong_magic).error(), ParcelError::bad_header);

    auto reserved = good;
    header = header_of(good);
    header.reserved = 1;
    set_header(reserved, header);
    EXPECT_EQ(Reader(reserved).error(), ParcelError::bad_header);

    auto lying_size = good;
    header = header_of(good);
    header.data_size = 0xfffffff0;  // would overflow any unchecked sum
    set_header(lying_size, header);
    Reader reader(lying_size);
    EXPECT_EQ(reader.error(), ParcelError::bad_header);
    EXPECT_EQ(reader.read_int32(), 0);

    auto many_objects = good;
    header = header_of(good);
    header.object_count = kMaxObjects + 1;
    set_header(many_objects, header);
    EXPECT_EQ(Reader(many_objects).error(), ParcelError::bad_header);

    // Trailing bytes after a valid message are ignored.
    auto longer = good;
    longer.resize(good.size() + 8);
    Reader trailing(longer);
    EXPECT_EQ(trailing.read_int32(), 5);
    EXPECT_TRUE(trailing.ok());
}

std::vector<std::byte> two_fd_message() {
    InlineWriter<256> writer;
    writer.write_int32(1);
    writer.write_fd(3);
    writer.write_fd(4);
    writer.write_int32(2);
    return finished(writer);
}

TEST(ParcelHostile, OffsetsOutsideMisalignedOrOverlapping) {
    const auto good = two_fd_message();  // objects at 4 and 28, data 56 bytes
    ASSERT_TRUE(Reader(good, {.raw_fds = true}).ok());

    auto outside = good;
    set_offset(outside, 1, 40);  // 40 + 24 > 56
    EXPECT_EQ(Reader(outside).error(), ParcelError::bad_offsets);

    auto far = good;
    set_offset(far, 1, 0xfffffffc);
    EXPECT_EQ(Reader(far).error(), ParcelError::bad_offsets);

    auto misaligned = good;
    set_offset(misaligned, 0, 5);
    EXPECT_EQ(Reader(misaligned).error(), ParcelError::bad_offsets);

    auto overlapping = good;
    set_offset(overlapping, 1, 16);  // inside object 0
    EXPECT_EQ(Reader(overlapping).error(), ParcelError::bad_offsets);

    auto unordered = good;
    set_offset(unordered, 0, 28);
    set_offset(unordered, 1, 4);
    EXPECT_EQ(Reader(unordered).error(), ParcelError::bad_offsets);
}

TEST(ParcelHostile, ValuesAndObjectsCannotBeConfused) {
    const auto message = two_fd_message();

    // A plain read that would run into the object header.
    Reader reads_object_as_value(message, {.raw_fds = true});
    reads_object_as_value.read_int32();
    EXPECT_EQ(reads_object_as_value.read_int64(), 0);
    EXPECT_EQ(reads_object_as_value.error(), ParcelError::truncated);

    // An object read where the offsets table lists none.
    Reader reads_value_as_object(message, {.raw_fds = true});
    EXPECT_EQ(reads_value_as_object.read_fd(), -1);
    EXPECT_EQ(reads_value_as_object.error(), ParcelError::object_expected);

    // The right place, the wrong type.
    Reader wrong_type(message, {.raw_fds = true});
    wrong_type.read_int32();
    EXPECT_EQ(wrong_type.read_service().handle, 0u);
    EXPECT_EQ(wrong_type.error(), ParcelError::object_mismatch);
    EXPECT_TRUE(wrong_type.read_buffer().empty());

    // Dropping an object from the table turns it into plain data the reader can't take as an fd.
    auto dropped = message;
    auto header = header_of(message);
    header.object_count = 1;
    set_header(dropped, header);
    Reader hidden(dropped, {.raw_fds = true});
    hidden.read_int32();
    EXPECT_EQ(hidden.read_fd(), 3);
    EXPECT_EQ(hidden.read_fd(), -1);
    EXPECT_EQ(hidden.error(), ParcelError::object_expected);
}

TEST(ParcelHostile, FdOrdinalsMustBeInSequence) {
    auto message = two_fd_message();
    poke<uint32_t>(message, 28 + 8 + 4, 0);  // second fd claims ordinal 0 (one fd taken twice)
    std::array<int, 2> fds{50, 51};
    Reader reader(message, {.fds = fds});
    reader.read_int32();
    EXPECT_EQ(reader.take_fd(), 50);
    EXPECT_EQ(reader.take_fd(), -1);
    EXPECT_EQ(reader.error(), ParcelError::bad_fd);
    EXPECT_EQ(fds[1], 51);  // untouched: the message still closes it

    auto negative = two_fd_message();
    poke<int32_t>(negative, 4 + 8, -3);
    Reader raw(negative, {.raw_fds = true});
    raw.read_int32();
    EXPECT_EQ(raw.read_fd(), -1);
    EXPECT_EQ(raw.error(), ParcelError::bad_fd);
}

TEST(ParcelHostile, StringsWithoutTerminatorOrWithLyingLength) {
    InlineWriter<256> writer;
    writer.write_string("abcdefg");  // length at 0, bytes at 4..10, NUL at 11
    writer.write_int32(9);
    const auto good = finished(writer);

    auto unterminated = good;
    poke<char>(unterminated, 11, 'h');
    Reader a(unterminated);
    EXPECT_EQ(a.read_string_view(), "");
    EXPECT_EQ(a.error(), ParcelError::bad_string);
    EXPECT_EQ(a.read_int32(), 0);

    auto longer = good;
    poke<uint32_t>(longer, 0, 100);
    Reader b(longer);
    EXPECT_EQ(b.read_string(), "");
    EXPECT_EQ(b.error(), ParcelError::truncated);

    auto huge = good;
    poke<uint32_t>(huge, 0, 0xffffffff);  // length + 1 would wrap in 32 bits
    Reader c(huge);
    size_t length = 1;
    EXPECT_EQ(c.read_c_string(&length), nullptr);
    EXPECT_EQ(length, 0u);
    EXPECT_EQ(c.error(), ParcelError::bad_string);

    auto shorter = good;
    poke<uint32_t>(shorter, 0, 3);  // byte 3 is 'd', not a terminator
    Reader d(shorter);
    EXPECT_EQ(d.read_string_view(), "");
    EXPECT_EQ(d.error(), ParcelError::bad_string);
}

TEST(ParcelHostile, SizedBytesWithBadLengths) {
    InlineWriter<256> writer;
    writer.write_vector<uint32_t>(std::vector<uint32_t>{1, 2, 3});
    const auto good = finished(writer);

    auto not_multiple = good;
    poke<uint32_t>(not_multiple, 0, 10);
    Reader a(not_multiple);
    EXPECT_TRUE(a.read_vector<uint32_t>().empty());
    EXPECT_EQ(a.error(), ParcelError::bad_length);

    auto past_end = good;
    poke<uint32_t>(past_end, 0, 0xfffffffc);
    Reader b(past_end);
    EXPECT_TRUE(b.read_bytes().empty());
    EXPECT_EQ(b.error(), ParcelError::bad_length);

    auto too_many = good;
    poke<uint32_t>(too_many, 0, 16);
    Reader c(too_many);
    EXPECT_TRUE(c.read_bytes().empty());
    EXPECT_EQ(c.error(), ParcelError::truncated);

    Reader small_destination(good);
    std::array<uint32_t, 2> out{};
    EXPECT_EQ(small_destination.read_vector<uint32_t>(out), 0u);
    EXPECT_EQ(small_destination.error(), ParcelError::bad_length);

    Reader wrong_object(good);
    EXPECT_EQ(wrong_object.read_object<Point>(), Point{});  // 12 bytes, not sizeof(Point)
    EXPECT_EQ(wrong_object.error(), ParcelError::bad_length);
}

TEST(ParcelHostile, DataBuffersOutOfBounds) {
    TestPool pool(4096);
    InlineWriter<512> writer(&pool);
    writer.write_buffer(std::vector<std::byte>(1000, std::byte{1}));
    writer.write_buffer(std::vector<std::byte>(16, std::byte{2}));
    writer.write_int32(3);
    const auto good = finished(writer);
    // Object 0 at 0 (pool), object 1 at 24 (inline, bytes at 48..63), int at 64.
    constexpr size_t kBody = 8;

    auto beyond_pool = good;
    poke<uint64_t>(beyond_pool, kBody, 4000);  // offset 4000 + 1000 > 4096
    Reader a(beyond_pool, {.peer_pool = pool.mapping()});
    EXPECT_TRUE(a.read_buffer().empty());
    EXPECT_EQ(a.error(), ParcelError::buffer_out_of_bounds);

    auto wrapping = good;
    poke<uint64_t>(wrapping, kBody, ~uint64_t{0} - 10);  // offset + length wraps
    Reader b(wrapping, {.peer_pool = pool.mapping()});
    EXPECT_TRUE(b.read_buffer().empty());
    EXPECT_EQ(b.error(), ParcelError::buffer_out_of_bounds);

    auto inline_elsewhere = good;
    poke<uint64_t>(inline_elsewhere, 24 + kBody, 0);  // points back at object 0
    Reader c(inline_elsewhere, {.peer_pool = pool.mapping()});
    EXPECT_EQ(c.read_buffer().size(), 1000u);
    EXPECT_TRUE(c.read_buffer().empty());
    EXPECT_EQ(c.error(), ParcelError::buffer_out_of_bounds);

    auto inline_too_long = good;
    poke<uint64_t>(inline_too_long, 24 + kBody + 8, 100);  // runs past the data
    Reader d(inline_too_long, {.peer_pool = pool.mapping()});
    d.read_buffer();
    EXPECT_TRUE(d.read_buffer().empty());
    EXPECT_EQ(d.error(), ParcelError::truncated);

    auto unknown_placement = good;
    poke<uint32_t>(unknown_placement, 4, 7);
    Reader e(unknown_placement, {.peer_pool = pool.mapping()});
    EXPECT_TRUE(e.read_buffer().empty());
    EXPECT_EQ(e.error(), ParcelError::object_mismatch);
}

TEST(ParcelHostile, ReaderKeepsItsPrivateCopyOfTheLayout) {
    auto message = two_fd_message();
    Reader reader(message, {.raw_fds = true});
    // The sender rewrites the offsets table and header after validation: no effect.
    set_offset(message, 1, 0xfffffff0);
    auto header = header_of(message);
    header.data_size = 0xffffff;
    set_header(message, header);
    EXPECT_EQ(reader.read_int32(), 1);
    EXPECT_EQ(reader.read_fd(), 3);
    EXPECT_EQ(reader.read_fd(), 4);
    EXPECT_EQ(reader.read_int32(), 2);
    EXPECT_TRUE(reader.ok()) << reader.error_reason();
    EXPECT_EQ(reader.read_int32(), 0);
}

TEST(Parcel, WriteAndReadDoNotAllocate) {
    const size_t before_probe = g_allocations.load();
    ::operator delete(::operator new(16));  // a direct call: can't be elided
    if (g_allocations.load() == before_probe) GTEST_SKIP() << "allocation counting replaced elsewhere";

    TestPool pool(1 << 20);
    std::array<std::byte, 8192> storage;
    std::array<std::byte, 4096> payload{};
    std::array<int, 1> fds{42};
    bool all_ok = true;
    int64_t checksum = 0;
    const size_t before = g_allocations.load();
    for (int round = 0; round < 100; ++round) {
        Writer writer(storage, &pool);
        for (int i = 0; i < 16; ++i) writer.write_int32(i);
        writer.write_string("service.name");
        writer.write_string("method");
        writer.write_buffer(payload);
        writer.write_fd(3);
        const auto message = writer.finish();
        all_ok = all_ok && message.has_value();
        if (!message) break;
        Reader reader(*message, {.peer_pool = pool.mapping(), .fds = fds});
        for (int i = 0; i < 16; ++i) checksum += reader.read_int32();
        checksum += static_cast<int64_t>(reader.read_string_view().size());
        checksum += static_cast<int64_t>(reader.read_string_view().size());
        checksum += static_cast<int64_t>(reader.read_buffer().size());
        checksum += reader.read_fd();
        all_ok = all_ok && reader.ok();
    }
    const size_t allocations = g_allocations.load() - before;
    EXPECT_TRUE(all_ok);
    EXPECT_EQ(checksum, 100 * (120 + 12 + 6 + 4096 + 42));
    EXPECT_EQ(allocations, 0u);
}

}  // namespace
}  // namespace liteipc
