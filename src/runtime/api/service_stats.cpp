#include "api/service_stats.h"

#include <unistd.h>

namespace liteipc::detail {

Result<ServiceTraffic> ServiceTraffic::attach(int map_fd) {
    // A BPF array's values start at offset 0 of its mapping; the kernel maps whole pages.
    auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    auto mapping = Mapping::map(map_fd, page, PROT_READ | PROT_WRITE);
    if (!mapping) return std::unexpected(mapping.error());
    ServiceTraffic traffic;
    traffic.mapping_ = std::move(*mapping);
    traffic.counters_ = reinterpret_cast<liteipc_svc_traffic*>(traffic.mapping_.data());
    return traffic;
}

}  // namespace liteipc::detail
