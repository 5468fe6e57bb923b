#include "host_paths.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "common/log.h"
#include "common/mapping.h"

namespace liteipc::loader {
namespace fs = std::filesystem;

Result<> refuse_foreign_owner(const std::string& path, const char* what) {
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0) return fail_errno(std::string("stat of ") + what + " " + path);
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
        return fail(Errc::permission_denied, std::string(what) + " " + path + " belongs to uid " +
                                                 std::to_string(st.st_uid) +
                                                 ", not root: refusing to use it (pick a root-owned path)");
    return {};
}

Result<> prepare_socket_directory(const std::string& socket_path, gid_t group) {
    fs::path dir = fs::path(socket_path).parent_path();
    if (dir.empty()) dir = ".";
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        // Missing components are ours: the last one is the loader's runtime directory.
        fs::path built;
        for (const auto& part : dir) {
            built /= part;
            if (fs::exists(built, ec)) continue;
            if (::mkdir(built.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno("mkdir " + built.string());
            bool last = built == dir;
            if (::chown(built.c_str(), 0, last ? group : 0) != 0 ||
                ::chmod(built.c_str(), last ? (group ? 0750 : 0700) : 0755) != 0)
                return fail_errno("set owner and mode of " + built.string());
            LITEIPC_LOG(info, "created %s", built.c_str());
        }
        return {};
    }
    if (!fs::is_directory(dir, ec)) return fail(Errc::invalid_argument, dir.string() + " is not a directory");
    return refuse_foreign_owner(dir.string(), "socket directory");
}

Result<> claim_socket_path(const std::string& socket_path) {
    struct stat st{};
    if (::lstat(socket_path.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return fail_errno("stat of " + socket_path);
    }
    if (!S_ISSOCK(st.st_mode))
        return fail(Errc::already_exists, socket_path + " exists and is not a socket: refusing to replace it");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof address.sun_path)
        return fail(Errc::invalid_argument, "socket path too long: " + socket_path);
    std::strcpy(address.sun_path, socket_path.c_str());
    detail::UniqueFd probe(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!probe) return fail_errno("socket");
    if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 || errno == EAGAIN)
        return fail(Errc::already_exists, "a liteipc-loader already answers on " + socket_path +
                                              ": stop it first, or give this one another --socket");
    if (errno != ECONNREFUSED && errno != ENOENT)
        return fail_errno("probe of " + socket_path);
    // Nothing listens: a socket left by a loader that ended without cleaning up.
    if (::unlink(socket_path.c_str()) != 0 && errno != ENOENT) return fail_errno("unlink of stale " + socket_path);
    LITEIPC_LOG(info, "removed stale socket %s", socket_path.c_str());
    return {};
}

}  // namespace liteipc::loader
