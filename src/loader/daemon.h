// liteipc-loader's event loop: the control socket, registration of processes into the process
// table, the service manager (handle 0), and the reclaiming of what dead processes leave.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <vector>
#include <string>

#include "control_protocol.h"
#include "kernel_plane.h"

namespace liteipc::loader {

struct DaemonOptions {
    std::string pin_root = detail::kDefaultPinRoot;
    std::string socket_path = detail::kDefaultControlSocket;
    std::string group = "liteipc";
};

class Daemon {
public:
    static Result<std::unique_ptr<Daemon>> start(const DaemonOptions& options);
    ~Daemon();
    // Serves until SIGTERM or SIGINT.
    Result<> run();

private:
    struct Client {
        UniqueFd socket;
        pid_t pid = 0;
        uid_t uid = 0;
        gid_t gid = 0;
        bool registered = false;
        bool auxiliary = false;  // a further socket of a registered process: closing it closes nothing
        uint32_t slot = 0;
        uint64_t generation = 0;
    };

    explicit Daemon(DaemonOptions options) : options_(std::move(options)) {}
    Result<> listen();
    void adopt_registered();
    void accept_client();
    void serve_client(int fd);
    void drop_client(int fd);
    bool adopt_auxiliary(Client& client);
    void on_death(const liteipc_death_record& record);
    void reclaim(uint32_t slot, uint64_t generation);

    detail::ControlReply hello(Client& client, std::vector<UniqueFd>& fds);
    detail::ControlReply register_service(Client& client, const detail::ControlRequest& request);
    detail::ControlReply unregister_service(Client& client, const detail::ControlRequest& request);
    detail::ControlReply lookup(const detail::ControlRequest& request);
    detail::ControlReply grant(Client& client, const detail::ControlRequest& request);
    // open_channel / accept_channel: nullopt when the reply waits for the other half.
    std::optional<detail::ControlReply> channel_half(Client& client, const detail::ControlRequest& request,
                                                     std::vector<UniqueFd>& fds);
    detail::ControlReply close_channel(Client& client, const detail::ControlRequest& request);
    void send_reply(int socket, detail::ControlReply reply, const std::vector<UniqueFd>& fds,
                    const std::string& text = {});
    void release_holdings_of(uint32_t slot);
    void abandon_pending_of(int socket);
    std::string list_text() const;
    std::string status_json() const;

    DaemonOptions options_;
    gid_t group_id_ = 0;
    std::unique_ptr<KernelPlane> kernel_;
    UniqueFd lock_;
    UniqueFd listener_;
    UniqueFd epoll_;
    UniqueFd signals_;
    std::map<int, Client> clients_;  // by socket fd

    // A connection whose two halves are not both in yet.
    struct PendingChannel {
        int client_socket = -1;
        uint64_t client_request_id = 0;
        UniqueFd ctrl, request_pool;
        int service_socket = -1;
        uint64_t service_request_id = 0;
        UniqueFd reply_pool;
    };
    std::map<uint64_t, PendingChannel> pending_channels_;  // by conn_id
    uint64_t deaths_seen_ = 0;
};

}  // namespace liteipc::loader
