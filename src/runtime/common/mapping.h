// Move-only owners of file descriptors and memory mappings, plus the memfd helpers the data plane
// needs to make shared regions and hand out read-only views of them.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <span>
#include <utility>

#include "liteipc/error.h"

namespace liteipc::detail {

class UniqueFd {
public:
    UniqueFd() noexcept = default;
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const noexcept { return fd_; }
    bool valid() const noexcept { return fd_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept;

private:
    int fd_ = -1;
};

class Mapping {
public:
    Mapping() noexcept = default;
    Mapping(Mapping&& other) noexcept
        : address_(std::exchange(other.address_, nullptr)), size_(std::exchange(other.size_, 0)),
          protection_(other.protection_) {}
    Mapping& operator=(Mapping&& other) noexcept {
        if (this != &other) {
            unmap();
            address_ = std::exchange(other.address_, nullptr);
            size_ = std::exchange(other.size_, 0);
            protection_ = other.protection_;
        }
        return *this;
    }
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping() { unmap(); }

    // mmap(MAP_SHARED) of `size` bytes of `fd` from `offset`, with PROT_READ and/or PROT_WRITE.
    static Result<Mapping> map(int fd, std::size_t size, int protection, off_t offset = 0);
    // Same, with the size taken from fstat.
    static Result<Mapping> map_whole(int fd, int protection);

    std::byte* data() const noexcept { return static_cast<std::byte*>(address_); }
    std::size_t size() const noexcept { return size_; }
    bool writable() const noexcept { return (protection_ & PROT_WRITE) != 0; }
    bool valid() const noexcept { return address_ != nullptr; }
    std::span<std::byte> bytes() const noexcept { return {data(), size_}; }

    // True if [offset, offset + length) lies inside the mapping (overflow-safe).
    bool contains(uint64_t offset, uint64_t length) const noexcept {
        return offset <= size_ && length <= size_ - offset;
    }

    void unmap() noexcept;

private:
    void* address_ = nullptr;
    std::size_t size_ = 0;
    int protection_ = PROT_NONE;
};

// An anonymous shared-memory file of `size` bytes (memfd_create + ftruncate), close-on-exec.
// `allow_sealing` lets the creator seal it later (F_SEAL_FUTURE_WRITE, F_SEAL_SHRINK).
Result<UniqueFd> create_memfd(const char* name, std::size_t size, bool allow_sealing = true);

// A new O_RDONLY descriptor for the same file, opened through /proc/self/fd/N. Unlike the original
// O_RDWR fd, a mapping made from it can never be mprotect'ed writable. On its own this is not a
// barrier: whoever holds any fd to a memfd can re-open it O_RDWR through /proc (mode 0777 inode).
// The barrier is F_SEAL_FUTURE_WRITE, added by the writer once its own writable mapping exists.
Result<UniqueFd> reopen_read_only(int fd);

// F_GET_SEALS / F_ADD_SEALS on a memfd.
Result<int> seals_of(int fd);
Result<void> add_seals(int fd, int seals);

// Size of the file behind fd (fstat).
Result<std::size_t> file_size(int fd);

}  // namespace liteipc::detail
