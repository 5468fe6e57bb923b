// The C++ side of the bridge tests, roles of the one test peer (tests/support/peer_main.cpp): a
// service, a client or a squatter on one host, its options named (the bridge tests start it
// through nsenter and setpriv, its output in a log file):
//   liteipc_test_peer bridge_service --name NAME [--socket PATH] [--pin-root PATH]
//   liteipc_test_peer bridge_client --name NAME --text TEXT [--socket PATH] [--pin-root PATH]
//   liteipc_test_peer bridge_squat --name NAME [--socket PATH] [--pin-root PATH]
// The service's codes: 1 echo a string; 2 sleep the given milliseconds, then answer (a call left
// pending); 3 sum a data buffer and send it back (pool buffers both ways); 4 who: the token, the
// caller's kernel-verified pid and uid; 5 the sum alone; 6 the milliseconds left before the caller's deadline
// (0xffffffff: none). It serves until killed. The client echoes TEXT (code 1)
// and sends it as a oneway note (code 4, as the example echo services read it). The squatter
// tries to register NAME every 5 ms until killed, printing "refused N: why" (the first and every
// 20th refusal); once it holds the name it prints "registered" and "got TEXT" for each message.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <optional>
#include <string>
#include <thread>

#include "liteipc/ipc.h"
#include "peer_role.h"
#include "service_codes.h"

namespace {

using namespace liteipc::testing::bridge_codes;

int32_t serve_bridge_call(liteipc::Call& call) {
    liteipc::Reader& request = call.request();
    switch (call.code()) {
        case kEcho: call.reply().write_string(request.read_string_view()); break;
        case kSleep: std::this_thread::sleep_for(std::chrono::milliseconds(request.read_uint32())); break;
        case kBuffer:
        case kSum: {
            const auto bytes = request.read_buffer();
            uint64_t sum = 0;
            for (std::byte b : bytes) sum += static_cast<uint8_t>(b);
            call.reply().write_uint64(sum);
            if (call.code() == kBuffer) call.reply().write_buffer(bytes);
            break;
        }
        case kWho:
            call.reply().write_uint32(call.token());
            call.reply().write_uint32(call.caller().pid);
            call.reply().write_uint32(call.caller().uid);
            break;
        case kDeadline: {
            const auto deadline = call.deadline();
            const auto left = deadline ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                             *deadline - std::chrono::steady_clock::now()).count()
                                       : 0xffffffffLL;
            call.reply().write_uint32(static_cast<uint32_t>(std::max<long long>(left, 0)));
            break;
        }
        default: return -1;
    }
    return request.ok() ? 0 : -2;
}

int run_client(liteipc::Context& context, const std::string& name, const std::string& text) {
    auto connection = liteipc::Connection::open(context, name);
    if (!connection) {
        std::printf("connect failed: %s\n", connection.error().describe().c_str());
        return 1;
    }
    liteipc::Request request(*connection);
    request.writer().write_string(text);
    auto reply = connection->call(kEcho, request);
    if (!reply || reply->status() != 0) {
        std::printf("echo failed: %s\n", reply ? std::to_string(reply->status()).c_str() : reply.error().describe().c_str());
        return 1;
    }
    std::printf("echo -> \"%s\"\n", reply->reader().read_string().c_str());
    liteipc::Request note(*connection);
    note.writer().write_string(text);
    if (auto sent = connection->send(kExampleNote, note); !sent) {
        std::printf("note failed: %s\n", sent.error().describe().c_str());
        return 1;
    }
    // A oneway message still in the ring when its sender exits is dropped with the connection:
    // one more call keeps the connection until the service has taken the note.
    liteipc::Request last(*connection);
    last.writer().write_string(text);
    return connection->call(kEcho, last) ? 0 : 1;
}

int run_squatter(liteipc::Context& context, const std::string& name) {
    for (uint64_t refused = 1;; ++refused) {
        auto service = liteipc::Service::start(context, {.name = name, .policy = liteipc::Policy::anyone},
                                               [](liteipc::Call& call) -> int32_t {
                                                   std::printf("got %s\n", call.request().read_string().c_str());
                                                   std::fflush(stdout);
                                                   return 0;
                                               });
        if (service) {
            std::printf("registered\n");
            std::fflush(stdout);
            for (;;) ::pause();
        }
        if (refused == 1 || refused % 20 == 0) {
            std::printf("refused %llu: %s\n", static_cast<unsigned long long>(refused), service.error().describe().c_str());
            std::fflush(stdout);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

// The role's named options: the context's socket and pin root, the service NAME and the TEXT.
struct BridgePeerOptions {
    liteipc::ContextOptions context;
    std::string name, text;
};

BridgePeerOptions read_options(liteipc::testing::PeerArgs& args) {
    BridgePeerOptions o;
    while (!args.done()) {
        const std::string key = args.text(), value = args.text();
        if (key == "--socket") o.context.socket_path = value;
        else if (key == "--pin-root") o.context.pin_root = value;
        else if (key == "--name") o.name = value;
        else if (key == "--text") o.text = value;
    }
    return o;
}

std::optional<liteipc::Context> open_context(const BridgePeerOptions& o) {
    auto context = liteipc::Context::open(o.context);
    if (!context) {
        std::fprintf(stderr, "bridge peer: %s\n", context.error().describe().c_str());
        return std::nullopt;
    }
    return std::move(*context);
}

}  // namespace

LITEIPC_PEER_ROLE(bridge_client) {
    const BridgePeerOptions o = read_options(args);
    auto context = open_context(o);
    return context ? run_client(*context, o.name, o.text) : 1;
}

LITEIPC_PEER_ROLE(bridge_squat) {
    const BridgePeerOptions o = read_options(args);
    auto context = open_context(o);
    return context ? run_squatter(*context, o.name) : 1;
}

// Serves NAME until killed; prints "ready" once registered.
LITEIPC_PEER_ROLE(bridge_service) {
    const BridgePeerOptions o = read_options(args);
    auto context = open_context(o);
    if (!context) return 1;
    auto service = liteipc::Service::start(*context, {.name = o.name, .policy = liteipc::Policy::anyone, .workers = 8},
                                           serve_bridge_call);
    if (!service) {
        std::fprintf(stderr, "bridge peer: %s\n", service.error().describe().c_str());
        return 1;
    }
    std::printf("ready\n");
    std::fflush(stdout);
    for (;;) ::pause();
}

