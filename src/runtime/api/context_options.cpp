// The loader a program uses when it names none (liteipc/context.h): the environment's, else the
// default paths. The C APIs, the CLI and C++ programs all get theirs from here.
#include <cstdlib>
#include <string>

#include "common/control_protocol.h"
#include "liteipc/context.h"

namespace liteipc {
namespace {

std::string from_environment(const char* variable, const char* fallback) {
    const char* value = std::getenv(variable);
    return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

std::string default_socket_path() { return from_environment("LITEIPC_SOCKET", detail::kDefaultControlSocket); }
std::string default_pin_root() { return from_environment("LITEIPC_PIN_ROOT", detail::kDefaultPinRoot); }

}  // namespace liteipc
