// Every transport ipc_bench measures, in table order. Adding one is one line here plus its file.
#include "transport.h"

namespace liteipc::bench {

std::unique_ptr<Transport> make_shm_spin_transport();
std::unique_ptr<Transport> make_shm_futex_transport();
std::unique_ptr<Transport> make_shm_copy_spin_transport();
std::unique_ptr<Transport> make_shm_copy_futex_transport();
std::unique_ptr<Transport> make_atomic8_transport();
std::unique_ptr<Transport> make_unix_seqpacket_transport();
std::unique_ptr<Transport> make_unix_stream_transport();
std::unique_ptr<Transport> make_pipe_transport();
#if LIPC_BENCH_HAVE_ICEORYX
std::unique_ptr<Transport> make_iceoryx_transport();
#endif
#if LIPC_BENCH_HAVE_LITEIPC
std::unique_ptr<Transport> make_liteipc_transport();
std::unique_ptr<Transport> make_liteipc_mediated_transport();
#endif

std::vector<std::unique_ptr<Transport>> make_all_transports() {
    std::vector<std::unique_ptr<Transport>> all;
#if LIPC_BENCH_HAVE_LITEIPC
    all.push_back(make_liteipc_transport());  // built when bench/rtt/liteipc_transport.cpp exists
    all.push_back(make_liteipc_mediated_transport());
#endif
    all.push_back(make_shm_spin_transport());
    all.push_back(make_shm_futex_transport());
    all.push_back(make_shm_copy_spin_transport());
    all.push_back(make_shm_copy_futex_transport());
    all.push_back(make_atomic8_transport());
    all.push_back(make_unix_seqpacket_transport());
    all.push_back(make_unix_stream_transport());
    all.push_back(make_pipe_transport());
#if LIPC_BENCH_HAVE_ICEORYX
    all.push_back(make_iceoryx_transport());
#endif
    return all;
}

}  // namespace liteipc::bench
