// Round trips of the older C API against a C API service in a child process: a 64 B IpcIo, and a
// 64 KiB data buffer beside a 200 B IpcIo (out of line), each way. Prints medians in microseconds.
// Run by scripts/bench-capi.sh, which starts a private liteipc-loader.
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "liteipc_adapter.h"
#include "owned_pid.h"

static uint8_t g_back[65536];
static int32_t serve(const IpcContext* ctx, void* msg, IpcIo* data, void*) {
    uint32_t code = 0;
    GetCode(msg, &code);
    uint8_t out[200];
    IpcIo reply;
    IpcIoInit(&reply, out, sizeof out, 1);
    if (code == 1) {
        IpcIoPushInt32(&reply, IpcIoPopInt32(data) + 1);
    } else {
        BuffPtr* in = IpcIoPopDataBuff(data);
        uint64_t sum = 0;
        for (uint32_t i = 0; in && i < in->buffSz; i += 64) sum += static_cast<const uint8_t*>(in->buff)[i];
        IpcIoPushUint64(&reply, sum);
        BuffPtr back{sizeof g_back, g_back};
        IpcIoPushDataBuff(&reply, &back);
    }
    SendReply(ctx, msg, &reply);
    return 0;
}

static double median(std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }

int main() {
    int ready[2];
    if (pipe(ready) != 0) return 1;
    // The service's process: SIGKILLed when this one ends or returns.
    const liteipc::testing::OwnedPid service = liteipc::testing::fork_child([&] {
        IpcContext* ctx = OpenLiteIpc(0);
        SvcIdentity sid;
        char ok = ctx && LiteIpcRegisterService(ctx, "bench.capi", serve, nullptr, &sid) == LITEIPC_OK ? 'y' : 'n';
        if (write(ready[1], &ok, 1) != 1) return 1;
        pause();
        return 0;
    });
    if (!service) return 1;
    char ok = 0;
    if (read(ready[0], &ok, 1) != 1 || ok != 'y') return 2;
    IpcContext* ctx = OpenLiteIpc(0);
    SvcIdentity sid;
    if (LiteIpcGetService(ctx, "bench.capi", &sid) != LITEIPC_OK) return 3;
    std::vector<double> small, big;
    static uint8_t payload[65536];
    std::memset(payload, 7, sizeof payload);
    for (int i = 0; i < 20000; ++i) {
        uint8_t data[64];
        IpcIo req, rep;
        IpcIoInit(&req, data, sizeof data, 0);
        IpcIoPushInt32(&req, i);
        uintptr_t buffer = 0;
        auto t0 = std::chrono::steady_clock::now();
        if (SendRequest(ctx, sid, 1, &req, &rep, LITEIPC_FLAG_DEFAULT, &buffer) != LITEIPC_OK) return 4;
        if (IpcIoPopInt32(&rep) != i + 1) return 5;
        FreeBuffer(ctx, (void*)buffer);
        small.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    for (int i = 0; i < 2000; ++i) {
        uint8_t data[200];
        IpcIo req, rep;
        IpcIoInit(&req, data, sizeof data, 1);
        BuffPtr buff{sizeof payload, payload};
        IpcIoPushDataBuff(&req, &buff);
        uintptr_t buffer = 0;
        auto t0 = std::chrono::steady_clock::now();
        if (SendRequest(ctx, sid, 2, &req, &rep, LITEIPC_FLAG_DEFAULT, &buffer) != LITEIPC_OK) return 6;
        IpcIoPopUint64(&rep);
        BuffPtr* back = IpcIoPopDataBuff(&rep);
        if (!back || back->buffSz != 65536) return 7;
        uint64_t sum = 0;
        for (uint32_t j = 0; j < back->buffSz; j += 64) sum += static_cast<const uint8_t*>(back->buff)[j];
        FreeBuffer(ctx, (void*)buffer);
        big.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::printf("capi 64B IpcIo round trip median %.1f us (20000 calls)\n", median(small));
    std::printf("capi 64KiB data buffer each way beside 200B IpcIo: median %.1f us (2000 calls)\n", median(big));
    return 0;
}
