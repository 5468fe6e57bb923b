// Roles of the trust tests' honest processes of another uid: each runs once, reports one int
// (0 or the Errc; -1 when it could not become that uid) and exits.
#include "peer_role.h"
#include "trust_support.h"

namespace liteipc::testing {

// Opens a context as `uid`.
LITEIPC_PEER_ROLE(open_context_as) {
    ContextOptions options = read_context_options(args);
    auto uid = static_cast<uid_t>(args.number());
    if (!become_group_member(uid)) return report(-1) ? 0 : 101;
    auto context = Context::open(options);
    return report(context ? 0 : code(context.error().code)) ? 0 : 101;
}

// Registers the name `name` as `uid` through its context's control socket (no Service).
LITEIPC_PEER_ROLE(register_name_as) {
    ContextOptions options = read_context_options(args);
    auto uid = static_cast<uid_t>(args.number());
    std::string name = args.text();
    if (!become_group_member(uid)) return report(-1) ? 0 : 101;
    auto context = Context::open(options);
    if (!context) return report(code(context.error().code)) ? 0 : 101;
    auto registered = context->impl().control(control_request(detail::ControlOp::register_service, 0, name.c_str()));
    return report(registered ? 0 : code(registered.error().code)) ? 0 : 101;
}

// Connects to `name` as `uid` and makes an echo call (-3: a wrong echo).
LITEIPC_PEER_ROLE(echo_as) {
    ContextOptions options = read_context_options(args);
    auto uid = static_cast<uid_t>(args.number());
    std::string name = args.text();
    if (!become_group_member(uid)) return report(-1) ? 0 : 101;
    auto context = Context::open(options);
    if (!context) return report(code(context.error().code)) ? 0 : 101;
    auto connection = Connection::open(*context, name);
    if (!connection) return report(code(connection.error().code)) ? 0 : 101;
    return report(echo_works(*connection) ? 0 : -3) ? 0 : 101;
}

}  // namespace liteipc::testing
