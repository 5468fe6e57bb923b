// A service and a client of IGreeter.idl through the installed liteipc-idl, idl.h and library:
// builds, and opens the generated proxy (loader_unavailable without a loader, like `consumer`).
#include <cstdio>

#include "igreeter.h"

struct Greeter final : consumer::GreeterStub {
    liteipc::Result<std::string> Greet(const std::string& name) override { return "hello, " + name; }
};

int main() {
    Greeter greeter;
    auto context = liteipc::Context::open();
    if (!context) {
        std::printf("idl_consumer: %s\n", context.error().describe().c_str());
        return context.error().code == liteipc::Errc::loader_unavailable ? 0 : 1;
    }
    auto service = greeter.serve(*context, {.name = "consumer.greeter"});
    auto proxy = consumer::GreeterProxy::open(*context, "consumer.greeter");
    auto text = proxy ? proxy->Greet("consumer") : std::unexpected(proxy.error());
    std::printf("idl_consumer: %s\n", text ? text->c_str() : text.error().describe().c_str());
    return text ? 0 : 1;
}
