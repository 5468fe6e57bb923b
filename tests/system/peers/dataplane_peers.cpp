// Roles of the data-plane system tests' peer processes: a service with one of their handlers, the
// service side of the connect race, and a client holding many connections open at once.
#include <sys/resource.h>

#include <mutex>
#include <optional>
#include <thread>

#include "dataplane_peers.h"
#include "peer_role.h"

namespace liteipc::testing {

// Serves a ServiceHandler under ServiceOptions. Reports 'y' once it serves ('n' if it cannot),
// then serves until the test ends it.
LITEIPC_PEER_ROLE(dataplane_service) {
    ContextOptions context_options = read_context_options(args);
    ServiceOptions options = read_service_options(args);
    auto handler = static_cast<ServiceHandler>(args.number());
    auto rlimit_nofile = static_cast<rlim_t>(args.number());
    if (rlimit_nofile > 0) {
        rlimit limit{rlimit_nofile, rlimit_nofile};
        if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return 99;
    }
    auto context = Context::open(context_options);
    if (!context) {
        std::fprintf(stderr, "dataplane service: %s\n", context.error().describe().c_str());
        report('n');
        return 100;
    }
    auto service = Service::start(*context, options, handler_for(handler));
    if (!service) std::fprintf(stderr, "dataplane service: %s\n", service.error().describe().c_str());
    report(service ? 'y' : 'n');
    if (!service) return 101;
    for (;;) ::pause();
}

// The connect race's service: for each of `rounds` rounds registers "race.<round>", serves until
// the test sends a byte, unregisters. Exits 0 after the last round.
LITEIPC_PEER_ROLE(race_service) {
    ContextOptions context_options = read_context_options(args);
    const auto rounds = static_cast<int>(args.number());
    auto context = Context::open(context_options);
    if (!context) return 100;
    for (int round = 0; round < rounds; ++round) {
        auto service = Service::start(*context, {.name = "race." + std::to_string(round), .workers = 1}, answer_code);
        if (!service) return 101;
        char done;
        if (!receive(done)) return 102;
    }
    return 0;
}

// Opens `count` connections to `name` (ConnectOptions: request pool bytes, slots, timeout in ms),
// makes one call with code 100 + i on each while all are open, reports how many were answered
// (int), and holds them until the test closes its end.
LITEIPC_PEER_ROLE(hold_connections) {
    ContextOptions context_options = read_context_options(args);
    const std::string name = args.text();
    const auto count = static_cast<int>(args.number());
    ConnectOptions connect;
    connect.request_pool_bytes = args.number();
    connect.slots = static_cast<uint32_t>(args.number());
    connect.timeout = std::chrono::milliseconds(args.number());
    int answered = 0;
    auto context = Context::open(context_options);
    std::vector<Connection> connections;
    if (context) {
        for (int c = 0; c < count; ++c) {
            auto connection = Connection::open(*context, name, connect);
            if (!connection) {
                std::fprintf(stderr, "hold_connections %d: %s\n", c, connection.error().describe().c_str());
                break;
            }
            connections.push_back(std::move(*connection));
        }
        for (std::size_t c = 0; c < connections.size(); ++c) {
            const auto code = static_cast<uint32_t>(100 + c);
            Request request(connections[c]);
            auto reply = connections[c].call(code, request, connect.timeout);
            if (reply && reply->status() == 0 && reply->reader().read_uint32() == code) ++answered;
        }
    }
    if (!report(answered)) return 101;
    char done;
    (void)receive(done);  // the test closing its end releases the connections
    return 0;
}

// A service withdrawn while its process lives on. Serves `name` (workers 2): code kSlowCall
// reports 'h' and answers after 2 s, any other code answers with itself. Reports 'y' once it
// serves; on each command byte 'w' destroys its Service and reports 'd' once it is gone, on
// 'r' registers `name` again and reports 'y'. Ends when the test closes its end.
LITEIPC_PEER_ROLE(withdraw_service) {
    ContextOptions context_options = read_context_options(args);
    const std::string name = args.text();
    auto context = Context::open(context_options);
    if (!context) return 100;
    auto handler = [](Call& call) -> int32_t {
        if (call.code() == kSlowCall) {
            report('h');
            std::this_thread::sleep_for(std::chrono::seconds(2));
        }
        return answer_code(call);
    };
    std::optional<Service> service;
    auto start = [&] {
        auto started = Service::start(*context, {.name = name, .workers = 2}, handler);
        if (!started) std::fprintf(stderr, "withdraw_service: %s\n", started.error().describe().c_str());
        else service.emplace(std::move(*started));
        return report(started ? 'y' : 'n');
    };
    if (!start()) return 101;
    for (char command; receive(command);) {
        if (command == 'w') {
            service.reset();
            if (!report('d')) return 102;
        } else if (command == 'r') {
            if (!start()) return 103;
        }
    }
    return 0;
}

// Records the sequence numbers of the oneway messages (code kSequenced, a uint32) it serves, 1 ms
// each, so that a sender's last messages are still on the ring when it goes. Reports 'y' once it
// serves; on each command byte 'q' reports how many it served (uint32) and then each (uint32).
LITEIPC_PEER_ROLE(sequence_service) {
    ContextOptions context_options = read_context_options(args);
    ServiceOptions options = read_service_options(args);
    auto context = Context::open(context_options);
    if (!context) return 100;
    std::mutex mutex;
    std::vector<uint32_t> served;
    auto service = Service::start(*context, options, [&](Call& call) -> int32_t {
        if (call.code() != kSequenced) return answer_code(call);
        const uint32_t sequence = call.request().read_uint32();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::lock_guard lock(mutex);
        served.push_back(sequence);
        return 0;
    });
    if (!service) std::fprintf(stderr, "sequence_service: %s\n", service.error().describe().c_str());
    if (!report(service ? 'y' : 'n') || !service) return 101;
    for (char command; receive(command);) {
        std::vector<uint32_t> copy;
        {
            std::lock_guard lock(mutex);
            copy = served;
        }
        if (!report(static_cast<uint32_t>(copy.size()))) return 102;
        for (uint32_t sequence : copy)
            if (!report(sequence)) return 102;
    }
    return 0;
}

// Sends `count` oneway messages kSequenced 0..count-1 to `name`, then ends as `ending` says:
// closes its Connection and reports 'c', exits (std::exit: no Connection or Context closed), or
// reports 's' and waits for the test's SIGKILL.
LITEIPC_PEER_ROLE(sequence_sender) {
    ContextOptions context_options = read_context_options(args);
    const std::string name = args.text();
    const auto count = static_cast<uint32_t>(args.number());
    const auto ending = static_cast<SenderEnding>(args.number());
    auto context = Context::open(context_options);
    if (!context) return 100;
    std::optional<Connection> connection;
    if (auto opened = Connection::open(*context, name); opened) connection.emplace(std::move(*opened));
    else return 101;
    for (uint32_t sequence = 0; sequence < count; ++sequence) {
        Request request(*connection);
        request.writer().write_uint32(sequence);
        if (auto sent = connection->send(kSequenced, request, std::chrono::seconds(10)); !sent) {
            std::fprintf(stderr, "sequence_sender %u: %s\n", sequence, sent.error().describe().c_str());
            return 102;
        }
    }
    switch (ending) {
        case SenderEnding::close:
            connection.reset();
            report('c');
            for (;;) ::pause();
        case SenderEnding::exit: std::exit(0);
        case SenderEnding::sigkill:
            report('s');
            for (;;) ::pause();
    }
    return 103;
}

}  // namespace liteipc::testing
