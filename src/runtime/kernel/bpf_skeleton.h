// Owner of a bpftool-generated skeleton (`bpftool gen skeleton` gives every skeleton type T the
// static members T::open, T::load and T::destroy under C++): destroyed in the destructor, so no
// path frees it by hand. Header-only, for the loader; katran's BpfSkeleton is the model.
#pragma once

#include <cerrno>
#include <utility>

#include "liteipc/error.h"

namespace liteipc::detail {

template <typename T>
class BpfSkeleton {
public:
    BpfSkeleton() noexcept = default;
    BpfSkeleton(BpfSkeleton&& other) noexcept : skel_(std::exchange(other.skel_, nullptr)) {}
    BpfSkeleton& operator=(BpfSkeleton&& other) noexcept {
        if (this != &other) {
            reset();
            skel_ = std::exchange(other.skel_, nullptr);
        }
        return *this;
    }
    BpfSkeleton(const BpfSkeleton&) = delete;
    BpfSkeleton& operator=(const BpfSkeleton&) = delete;
    ~BpfSkeleton() { reset(); }

    // The object opened, not loaded yet: maps and rodata can still be configured.
    static Result<BpfSkeleton> open() {
        BpfSkeleton skeleton;
        skeleton.skel_ = T::open();
        if (!skeleton.skel_) return fail_errno("open of the BPF object failed", Errc::kernel);
        return skeleton;
    }

    // Verifies and loads the programs, creating or reusing the maps. errno is set on failure.
    bool load() noexcept {
        int err = T::load(skel_);
        if (err != 0) errno = -err;
        return err == 0;
    }

    T* operator->() const noexcept { return skel_; }
    T* get() const noexcept { return skel_; }
    explicit operator bool() const noexcept { return skel_ != nullptr; }

    void reset() noexcept {
        if (skel_) T::destroy(std::exchange(skel_, nullptr));
    }

private:
    T* skel_ = nullptr;
};

}  // namespace liteipc::detail
