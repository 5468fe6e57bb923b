// The loader's footprint on the host's file system: it changes only what it created, refuses
// directories another non-root user controls, and never takes over a socket that still answers.
#pragma once

#include <sys/types.h>

#include <string>

#include "liteipc/error.h"

namespace liteipc::loader {

// Refuses `path` when it is owned by a user other than root (or this process's user).
Result<> refuse_foreign_owner(const std::string& path, const char* what);

// Makes the socket's directory when missing (root:group, 0750: the loader's own); an existing
// one is used as it is, never chmodded, and refused when another non-root user owns it.
Result<> prepare_socket_directory(const std::string& socket_path, gid_t group);

// A socket path in use by a running loader is refused; a stale socket (nothing answers) is
// removed; anything that is not a socket is left alone and refused.
Result<> claim_socket_path(const std::string& socket_path);

}  // namespace liteipc::loader
