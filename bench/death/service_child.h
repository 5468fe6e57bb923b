// The killed side of death_bench: the benchmark re-executes itself as
//   death_bench --child SOCKET PIN_ROOT FD PARENT_PID SERVICE_NAME
// which registers a liteipc service (one worker), writes its PeerId to FD once registered, then
// one byte to FD each time the handler starts a call of code 1, which it never answers: it sleeps
// until the process is killed.
#pragma once

namespace liteipc::bench::death {

inline constexpr int kServiceChildArgc = 7;
inline constexpr const char* kServiceChildFlag = "--child";

[[noreturn]] void service_child_main(char** argv);

}  // namespace liteipc::bench::death
