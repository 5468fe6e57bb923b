// liteipc-loader: loads liteipc's BPF programs, pins them, and serves the control socket.
#include <getopt.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "daemon.h"
#include "liteipc/version.h"
#include "common/log.h"
#include "common/stderr_log.h"
#include "systemd_integration.h"

namespace {

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: liteipc-loader [options]\n"
                 "  --foreground        stay attached to the terminal (default: daemonize)\n"
                 "  --pin-root DIR      where maps, programs and links are pinned (default %s)\n"
                 "  --socket PATH       control socket (default %s)\n"
                 "  --group NAME        group whose members may use liteipc (default liteipc)\n"
                 "  --config PATH       quotas and name ownership policy (default %s; SIGHUP re-reads it)\n"
                 "  --log-level LEVEL   debug, info, warn, error (default info)\n"
                 "  --unload            detach the programs and remove the pins, then exit (refused while a\n"
                 "                      loader serves the pin root)\n"
                 "  --version\n"
                 "  --help\n"
                 "Under systemd (Type=notify) it reports readiness and logs to the journal with priorities;\n"
                 "daemonized, it logs to the journal (or syslog).\n",
                 liteipc::detail::kDefaultPinRoot, liteipc::detail::kDefaultControlSocket,
                 liteipc::loader::kDefaultConfigPath);
}

}  // namespace

int main(int argc, char** argv) {
    liteipc::loader::DaemonOptions options;
    bool foreground = false, unload = false;
    std::string log_level = "info";
    static const option long_options[] = {
        {"foreground", no_argument, nullptr, 'f'}, {"pin-root", required_argument, nullptr, 'p'},
        {"socket", required_argument, nullptr, 's'}, {"group", required_argument, nullptr, 'g'},
        {"log-level", required_argument, nullptr, 'l'}, {"unload", no_argument, nullptr, 'u'},
        {"config", required_argument, nullptr, 'c'}, {"version", no_argument, nullptr, 'V'},
        {"help", no_argument, nullptr, 'h'}, {nullptr, 0, nullptr, 0}};
    for (int c; (c = getopt_long(argc, argv, "fp:s:g:l:uc:h", long_options, nullptr)) != -1;) {
        switch (c) {
            case 'f': foreground = true; break;
            case 'p': options.pin_root = optarg; break;
            case 's': options.socket_path = optarg; break;
            case 'g': options.group = optarg; break;
            case 'l': log_level = optarg; break;
            case 'u': unload = true; break;
            case 'c':
                options.config_path = optarg;
                options.config_given = true;
                break;
            case 'h': usage(stdout); return 0;
            case 'V': std::printf("liteipc-loader %s (ABI %d)\n", LITEIPC_VERSION_STRING, LITEIPC_ABI_VERSION); return 0;
            default: usage(stderr); return 2;
        }
    }
    setenv("LITEIPC_LOG_LEVEL", log_level.c_str(), 0);
    if (geteuid() != 0) {
        std::fprintf(stderr, "liteipc-loader: must run as root (it loads BPF programs)\n");
        return 1;
    }
    if (unload) {
        if (auto ok = liteipc::loader::KernelPlane::unload(options.pin_root); !ok) {
            std::fprintf(stderr, "liteipc-loader: unload: %s\n", ok.error().describe().c_str());
            return 1;
        }
        std::printf("liteipc-loader: removed %s\n", options.pin_root.c_str());
        return 0;
    }
    auto daemon = liteipc::loader::Daemon::start(options);
    if (!daemon) {
        std::fprintf(stderr, "liteipc-loader: %s\n", daemon.error().describe().c_str());
        return 1;
    }
    if (!foreground && ::daemon(0, 0) != 0) {
        std::perror("liteipc-loader: daemon");
        return 1;
    }
    // Under systemd stderr is the journal: its lines carry their priority, as the bridge's do. A
    // daemon's stderr is /dev/null: the journal itself.
    if (liteipc::detail::stderr_is_journal()) liteipc::detail::log_to_stderr({});
    else if (!foreground) liteipc::loader::log_to_journal();
    liteipc::loader::notify_systemd("READY=1\nSTATUS=serving the control socket");
    auto served = (*daemon)->run();
    liteipc::loader::notify_systemd("STOPPING=1");
    if (!served) {
        LITEIPC_LOG(error, "%s", served.error().describe().c_str());
        return 1;
    }
    return 0;
}
