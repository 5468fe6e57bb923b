// Parcel under hostile messages: every lie a sender can tell in a message is a named, sticky error.
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

}  // namespace
}  // namespace liteipc
