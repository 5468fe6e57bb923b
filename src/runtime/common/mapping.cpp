#include "common/mapping.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace liteipc::detail {

void UniqueFd::reset(int fd) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

Result<Mapping> Mapping::map(int fd, std::size_t size, int protection, off_t offset) {
    if (fd < 0 || size == 0) {
        return fail(Errc::invalid_argument, "map: need a valid fd and a non-zero size (fd " +
                                                std::to_string(fd) + ", size " + std::to_string(size) + ")");
    }
    void* address = ::mmap(nullptr, size, protection, MAP_SHARED, fd, offset);
    if (address == MAP_FAILED) {
        return fail_errno("mmap of fd " + std::to_string(fd) + " (" + std::to_string(size) + " bytes, " +
                          ((protection & PROT_WRITE) ? "read-write" : "read-only") + ")");
    }
    Mapping mapping;
    mapping.address_ = address;
    mapping.size_ = size;
    mapping.protection_ = protection;
    return mapping;
}

Result<Mapping> Mapping::map_whole(int fd, int protection) {
    auto size = file_size(fd);
    if (!size) return std::unexpected(size.error());
    return map(fd, *size, protection);
}

void Mapping::unmap() noexcept {
    if (address_ != nullptr) ::munmap(address_, size_);
    address_ = nullptr;
    size_ = 0;
}

Result<UniqueFd> create_memfd(const char* name, std::size_t size, bool allow_sealing) {
    unsigned flags = MFD_CLOEXEC | (allow_sealing ? MFD_ALLOW_SEALING : 0);
    UniqueFd fd{::memfd_create(name, flags)};
    if (!fd) return fail_errno(std::string("memfd_create ") + name);
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
        return fail_errno(std::string("ftruncate memfd ") + name + " to " + std::to_string(size) + " bytes",
                          errno == ENOMEM || errno == ENOSPC ? Errc::no_memory : Errc::system);
    }
    return fd;
}

Result<UniqueFd> reopen_read_only(int fd) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    UniqueFd read_only{::open(path, O_RDONLY | O_CLOEXEC)};
    if (!read_only) return fail_errno(std::string("reopen ") + path + " read-only");
    return read_only;
}

Result<int> seals_of(int fd) {
    const int seals = ::fcntl(fd, F_GET_SEALS);
    if (seals < 0) return fail_errno("F_GET_SEALS on fd " + std::to_string(fd));
    return seals;
}

Result<void> add_seals(int fd, int seals) {
    if (::fcntl(fd, F_ADD_SEALS, seals) != 0) {
        return fail_errno("F_ADD_SEALS " + std::to_string(seals) + " on fd " + std::to_string(fd),
                          errno == EPERM ? Errc::permission_denied : Errc::system);
    }
    return {};
}

Result<std::size_t> file_size(int fd) {
    struct stat status{};
    if (::fstat(fd, &status) != 0) return fail_errno("fstat fd " + std::to_string(fd));
    return static_cast<std::size_t>(status.st_size);
}

}  // namespace liteipc::detail
