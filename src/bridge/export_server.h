// The serving half: the gRPC service that takes calls from importing bridges, checks the
// caller's certificate identity against the exports, and calls the local services.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "bridge.grpc.pb.h"
#include "config.h"
#include "liteipc/ipc.h"

namespace liteipc::bridge {

// What this bridge counted, as the status service reports it.
struct ExportCounters {
    std::atomic<uint64_t> calls{0};    // answered calls, whatever their status
    std::atomic<uint64_t> oneway{0};   // oneway messages passed on
    std::atomic<uint64_t> refused{0};  // calls and watches refused: identity not allowed
    std::atomic<uint64_t> failed{0};   // calls that could not reach the local service
    std::atomic<uint64_t> watches{0};  // watches open now
    std::atomic<uint64_t> streams{0};  // Calls streams open now
};

// How long the bridge polls for a local service's answer before it sleeps.
inline constexpr std::chrono::microseconds kLocalAnswerSpin{100};

class ExportService final : public wire::Bridge::WithCallbackMethod_Watch<wire::Bridge::Service> {
public:
    ExportService(const BridgeConfig& config, Context& context, ExportCounters& counters)
        : config_(config), context_(context), counters_(counters) {}

    // An importing bridge's calls, one after another on a stream it keeps open (it opens one per
    // call in flight): each is served on the stream's handler thread.
    grpc::Status Calls(grpc::ServerContext* server_context,
                       grpc::ServerReaderWriter<wire::CallReply, wire::CallRequest>* stream) override;
    grpc::ServerWriteReactor<wire::ServiceReady>* Watch(grpc::CallbackServerContext* server_context,
                                                       const wire::WatchRequest* request) override;

    // Serves one call of the peer with certificate identity `identity`: `reply` carries the
    // service's answer, or the error; false when there is nothing to send back (oneway).
    bool serve(const std::string& identity, const wire::CallRequest& request, wire::CallReply& reply);

private:
    // The peer with `identity`, if it may reach `service`; else the refusal, counted.
    Result<const Peer*> admit(const std::string& identity, const std::string& service, bool need_allow);
    // One connection per exported service, opened again once its service is gone.
    Result<std::shared_ptr<Connection>> connection_to(const std::string& service);
    grpc::Status call_local(Connection& connection, const Peer& peer, const wire::CallRequest& request,
                            std::chrono::milliseconds timeout, wire::CallReply& reply);

    const BridgeConfig& config_;
    Context& context_;
    ExportCounters& counters_;
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<Connection>> connections_;
};

}  // namespace liteipc::bridge
