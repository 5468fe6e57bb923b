// liteipc-loader: loads liteipc's BPF programs, pins them, and serves the control socket.
#include <getopt.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "daemon.h"
#include "detach.h"
#include "liteipc/version.h"
#include "common/log.h"
#include "common/stderr_log.h"
#include "systemd_integration.h"

namespace {

// Exit statuses, documented in liteipc-loader(8).
enum LoaderExit : int { kExitOk = 0, kExitFailure = 1, kExitUsage = 2 };

constexpr const char* kDefaultPidfile = "/run/liteipc-loader.pid";

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: liteipc-loader [options]\n"
                 "Loads liteipc's BPF programs, pins them and serves the control socket, in the foreground.\n\n"
                 "  --daemon            run in the background (without systemd); exits once the loader serves\n"
                 "  --pidfile PATH      with --daemon, where to write its pid (default %s)\n"
                 "  --foreground        accepted for compatibility: the foreground is the default\n"
                 "  --pin-root DIR      where maps, programs and links are pinned (default %s)\n"
                 "  --socket PATH       control socket (default %s)\n"
                 "  --group NAME        group whose members may use liteipc (default liteipc)\n"
                 "  --config PATH       quotas and name ownership policy (default %s;\n"
                 "                      that one may be absent; SIGHUP re-reads it)\n"
                 "  --log-level LEVEL   debug, info, warn, error or off (default: LITEIPC_LOG_LEVEL, else info)\n"
                 "  --unload            detach the programs and remove the pins, then exit (refused while a\n"
                 "                      loader serves the pin root)\n"
                 "  --version           the version and the ABI of the pinned state it speaks\n"
                 "  --help              this text\n"
                 "Logs go to stderr (with priorities when stderr is the journal), with --daemon to the journal.\n"
                 "Exit status: 0 done, 1 failed (the reason is on stderr), 2 bad command line.\n"
                 "See liteipc-loader(8) and loader.conf(5).\n",
                 kDefaultPidfile, liteipc::detail::kDefaultPinRoot, liteipc::detail::kDefaultControlSocket,
                 liteipc::loader::kDefaultConfigPath);
}

std::optional<liteipc::LogLevel> parse_level(std::string_view text) {
    using liteipc::LogLevel;
    for (auto [name, level] : {std::pair{"debug", LogLevel::debug}, {"info", LogLevel::info},
                               {"warn", LogLevel::warn}, {"error", LogLevel::error}, {"off", LogLevel::off}})
        if (text == name) return level;
    return std::nullopt;
}

// Until the loader detaches: stderr, each line led by the loader's pid (the pid of whichever
// process logs: after --daemon's fork, the child's); plain levels when stderr is the journal.
void log_to_stderr() {
    if (liteipc::detail::stderr_is_journal()) return liteipc::detail::log_to_stderr({});
    liteipc::detail::log_to_stderr([] { return "liteipc-loader[" + std::to_string(::getpid()) + "] "; });
}

}  // namespace

int main(int argc, char** argv) {
    liteipc::loader::DaemonOptions options;
    bool background = false, unload = false;
    std::string pidfile = kDefaultPidfile;
    // --log-level, else LITEIPC_LOG_LEVEL, else info: the command line speaks last.
    const char* level_text = std::getenv("LITEIPC_LOG_LEVEL");
    const char* level_source = "LITEIPC_LOG_LEVEL";
    enum { kDaemon = 256, kPidfile };
    static const option long_options[] = {
        {"foreground", no_argument, nullptr, 'f'}, {"daemon", no_argument, nullptr, kDaemon},
        {"pidfile", required_argument, nullptr, kPidfile}, {"pin-root", required_argument, nullptr, 'p'},
        {"socket", required_argument, nullptr, 's'}, {"group", required_argument, nullptr, 'g'},
        {"log-level", required_argument, nullptr, 'l'}, {"unload", no_argument, nullptr, 'u'},
        {"config", required_argument, nullptr, 'c'}, {"version", no_argument, nullptr, 'V'},
        {"help", no_argument, nullptr, 'h'}, {nullptr, 0, nullptr, 0}};
    for (int c; (c = getopt_long(argc, argv, "fp:s:g:l:uc:h", long_options, nullptr)) != -1;) {
        switch (c) {
            case 'f': background = false; break;
            case kDaemon: background = true; break;
            case kPidfile: pidfile = optarg; break;
            case 'p': options.pin_root = optarg; break;
            case 's': options.socket_path = optarg; break;
            case 'g': options.group = optarg; break;
            case 'l':
                level_text = optarg;
                level_source = "--log-level";
                break;
            case 'u': unload = true; break;
            case 'c':
                options.config_path = optarg;
                options.config_given = true;
                break;
            case 'h': usage(stdout); return kExitOk;
            case 'V': std::printf("liteipc-loader %s (ABI %d)\n", LITEIPC_VERSION_STRING, LITEIPC_ABI_VERSION); return kExitOk;
            default: usage(stderr); return kExitUsage;
        }
    }
    if (optind < argc) {
        std::fprintf(stderr, "liteipc-loader: unexpected argument '%s' (see liteipc-loader --help)\n", argv[optind]);
        return kExitUsage;
    }
    auto level = parse_level(level_text && *level_text ? level_text : "info");
    if (!level) {
        std::fprintf(stderr, "liteipc-loader: %s '%s' is not a log level: debug, info, warn, error or off\n",
                     level_source, level_text);
        return kExitUsage;
    }
    liteipc::set_log_level(*level);
    if (geteuid() != 0) {
        std::fprintf(stderr, "liteipc-loader: must run as root (it loads BPF programs)\n");
        return kExitFailure;
    }
    if (unload) {
        if (auto ok = liteipc::loader::KernelPlane::unload(options.pin_root); !ok) {
            std::fprintf(stderr, "liteipc-loader: unload: %s\n", ok.error().describe().c_str());
            return kExitFailure;
        }
        std::printf("liteipc-loader: removed %s\n", options.pin_root.c_str());
        return kExitOk;
    }

    log_to_stderr();
    // Why it did not start goes to stderr whatever the log level: the caller's, under --daemon too.
    auto not_started = [](const liteipc::Error& error) {
        std::fprintf(stderr, "liteipc-loader[%d]: %s\n", static_cast<int>(::getpid()), error.describe().c_str());
        return kExitFailure;
    };
    std::optional<liteipc::loader::Detached> detached;
    if (background) {
        auto child = liteipc::loader::Detached::fork_and_wait();
        if (!child) return not_started(child.error());
        detached.emplace(std::move(*child));
    }
    auto daemon = liteipc::loader::Daemon::start(options);
    if (!daemon) return not_started(daemon.error());
    if (detached) {
        if (auto ok = detached->started(pidfile); !ok) return not_started(ok.error());
        // Its stderr is /dev/null from here on: the journal (or syslog) takes its lines.
        liteipc::loader::log_to_journal();
        LITEIPC_LOG(info, "serving in the background as pid %d (pidfile %s)", static_cast<int>(::getpid()),
                    pidfile.c_str());
    }
    liteipc::loader::notify_systemd("READY=1\nSTATUS=serving the control socket");
    auto served = (*daemon)->run();
    liteipc::loader::notify_systemd("STOPPING=1");
    if (detached) liteipc::loader::remove_pidfile(pidfile);
    if (!served) {
        LITEIPC_LOG(error, "%s", served.error().describe().c_str());
        return kExitFailure;
    }
    return kExitOk;
}
