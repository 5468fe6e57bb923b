// The Parcel in the project's error model (liteipc/error.h).
//
// Kept apart from parcel.cpp so the marshalling core builds without std::expected: the fuzz
// build uses clang 14, whose libstdc++ 12 <expected> can't be instantiated there.
#include "liteipc/parcel.h"

namespace liteipc {
namespace {

std::unexpected<Error> parcel_failure(Errc code, ParcelError error, const char* reason) {
    return fail(code, std::string("parcel: ") + std::string(to_string(error)) + ": " + reason);
}

}  // namespace

Result<void> ParcelStatus::status() const {
    switch (error_) {
        case ParcelError::none:
            return {};
        case ParcelError::out_of_space:
        case ParcelError::too_many_objects:
        case ParcelError::pool_exhausted:
            return parcel_failure(Errc::no_memory, error_, reason_);
        case ParcelError::invalid_argument:
        case ParcelError::sealed:
            return parcel_failure(Errc::invalid_argument, error_, reason_);
        default:
            return parcel_failure(Errc::malformed, error_, reason_);
    }
}

Result<std::span<const std::byte>> Writer::finish() noexcept {
    const std::span<const std::byte> message = seal();
    if (!ok()) return std::unexpected(status().error());
    return message;
}

Result<MessageLayout> MessageLayout::parse(std::span<const std::byte> message) {
    MessageLayout layout;
    const char* reason = "";
    const ParcelError error = validate(message, layout, reason);
    if (error != ParcelError::none) return parcel_failure(Errc::malformed, error, reason);
    return layout;
}

}  // namespace liteipc
