// The process's context of the C API: OpenLiteIpc, CloseLiteIpc and what every C API call uses
// to find the open context (capi/ipc_context.h).
#include <cstdlib>
#include <fstream>
#include <string>

#include "capi/ipc_context.h"

namespace liteipc::capi {
namespace {

std::mutex g_context_mutex;
std::shared_ptr<IpcContext> g_context;
unsigned g_context_users = 0;
pid_t g_context_pid = 0;

// A context inherited across fork() belongs to the parent: its threads do not exist here.
// It is left behind (never destroyed) and this process opens its own.
void forget_inherited_context() {
    if (g_context && g_context_pid != ::getpid()) {
        new std::shared_ptr<IpcContext>(std::move(g_context));  // deliberately leaked
        g_context_users = 0;
    }
}

}  // namespace

std::shared_ptr<IpcContext> acquire(const IpcContext* context) {
    std::lock_guard lock(g_context_mutex);
    forget_inherited_context();
    if (!g_context || (context != nullptr && context != g_context.get())) return nullptr;
    return g_context;
}

pid_t process_of(pid_t tid) {
    std::ifstream status("/proc/" + std::to_string(tid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("Tgid:", 0) == 0) return static_cast<pid_t>(std::atoi(line.c_str() + 5));
    return 0;
}

int32_t no_context(const char* what) {
    LITEIPC_LOG(warn, "%s: no open context (OpenLiteIpc first)", what);
    return LITEIPC_EBADF;
}

}  // namespace liteipc::capi

using namespace liteipc::capi;

extern "C" {

IpcContext* OpenLiteIpc(size_t mmapSize) {
    (void)mmapSize;  // pools are per connection
    std::lock_guard lock(g_context_mutex);
    forget_inherited_context();
    if (g_context) {
        ++g_context_users;
        return g_context.get();
    }
    auto opened = liteipc::Context::open(liteipc::ContextOptions{});
    if (!opened) {
        report("OpenLiteIpc", opened.error());
        return nullptr;
    }
    g_context = std::make_shared<IpcContext>(std::move(*opened));
    g_context_users = 1;
    g_context_pid = ::getpid();
    return g_context.get();
}

void CloseLiteIpc(IpcContext* context) {
    std::shared_ptr<IpcContext> closing;
    {
        std::lock_guard lock(g_context_mutex);
        forget_inherited_context();
        if (!g_context || (context != nullptr && context != g_context.get())) return;
        if (--g_context_users > 0) return;
        closing = std::move(g_context);
    }
    closing->shutdown();
}

}  // extern "C"
