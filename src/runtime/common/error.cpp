#include "liteipc/error.h"

namespace liteipc {
namespace {

class Category final : public std::error_category {
public:
    const char* name() const noexcept override { return "liteipc"; }
    std::string message(int value) const override { return std::string(to_string(static_cast<Errc>(value))); }
    // So that `ec == std::errc::timed_out` holds for the codes with a plain POSIX meaning.
    std::error_condition default_error_condition(int value) const noexcept override {
        switch (static_cast<Errc>(value)) {
            case Errc::invalid_argument: return std::errc::invalid_argument;
            case Errc::not_found: return std::errc::no_such_file_or_directory;
            case Errc::already_exists: return std::errc::file_exists;
            case Errc::permission_denied: return std::errc::permission_denied;
            case Errc::timed_out: return std::errc::timed_out;
            case Errc::no_memory: return std::errc::not_enough_memory;
            default: return {value, *this};
        }
    }
};

}  // namespace

const std::error_category& liteipc_category() noexcept {
    static const Category category;
    return category;
}

}  // namespace liteipc

#include <cerrno>

#include "common/errno_code.h"

namespace liteipc::detail {

Errc errc_from_errno(int err) {
    switch (err) {
        case EPERM: case EACCES: return Errc::permission_denied;
        case ENOENT: return Errc::not_found;
        case EEXIST: case EALREADY: return Errc::already_exists;
        case EINVAL: return Errc::invalid_argument;
        case ESRCH: case EOWNERDEAD: case ECONNABORTED: return Errc::dead_object;
        case ENOSPC: case ENOMEM: return Errc::no_memory;
        case ETIMEDOUT: return Errc::timed_out;
        case EPROTO: return Errc::malformed;
        case EDQUOT: return Errc::quota_exceeded;
        case EBUSY: case EMFILE: return Errc::loader_busy;
        default: return Errc::system;
    }
}

}  // namespace liteipc::detail
