// The error code for an errno that the loader or a BPF program answered with.
#pragma once

#include "liteipc/error.h"

namespace liteipc::detail {

Errc errc_from_errno(int err);

}  // namespace liteipc::detail
