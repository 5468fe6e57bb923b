/* A service written against the older LiteIPC C API, as an upstream one is: the service manager
 * (SetSaManager), so any client reaches it as handle 0. Serves until killed. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "liteipc_adapter.h"
#include "peer_protocol.h"

static int32_t handle(const IpcContext* context, void* ipcMsg, IpcIo* data, void* arg) {
    (void)arg;
    uint32_t code = 0;
    GetCode(ipcMsg, &code);
    uint8_t out[200];
    IpcIo reply;
    IpcIoInit(&reply, out, sizeof out, 1);
    switch (code) {
        case PEER_ADD: {
            int32_t n = IpcIoPopInt32(data);
            const char* s = (const char*)IpcIoPopString(data, NULL);
            IpcIoPushInt32(&reply, n + 1);
            IpcIoPushString(&reply, s != NULL ? s : "");
            IpcIoPushInt32(&reply, getpid());
            break;
        }
        case PEER_FD: {
            int fd = IpcIoPopFd(data);
            char first = 0;
            if (fd < 0 || read(fd, &first, 1) != 1) first = -1;
            if (fd >= 0) close(fd);
            int pipefd[2];
            if (pipe(pipefd) == 0 && write(pipefd[1], "peer", 4) == 4) {
                IpcIoPushInt32(&reply, first);
                IpcIoPushFd(&reply, (uint32_t)pipefd[0]);
            }
            SendReply(context, ipcMsg, &reply);
            if (pipefd[0] >= 0) close(pipefd[0]);
            close(pipefd[1]);
            return 0;
        }
        case PEER_CALL_BACK: {
            SvcIdentity* sid = IpcIoPopSvc(data);
            int32_t n = IpcIoPopInt32(data);
            int32_t answer = -1;
            if (sid != NULL) {
                SvcIdentity target = *sid;
                uint8_t request_data[64];
                IpcIo request, answer_io;
                IpcIoInit(&request, request_data, sizeof request_data, 0);
                IpcIoPushInt32(&request, n);
                IpcIoPushString(&request, "from the old API");
                uintptr_t buffer = 0;
                if (SendRequest(context, target, PEER_ADD, &request, &answer_io, LITEIPC_FLAG_DEFAULT, &buffer) ==
                    LITEIPC_OK) {
                    answer = IpcIoPopInt32(&answer_io);
                    FreeBuffer(context, (void*)buffer);
                }
            }
            IpcIoPushInt32(&reply, answer);
            break;
        }
        case PEER_WHO:
            IpcIoPushInt32(&reply, GetCallingPid(ipcMsg));
            break;
        default:
            break;
    }
    SendReply(context, ipcMsg, &reply);
    return 0;
}

int main(void) {
    IpcContext* context = OpenLiteIpc(LITEIPC_DEFAULT_MAP_SIZE);
    if (context == NULL || SetSaManager(context, 256) != LITEIPC_OK) return 1;
    printf("ready\n");
    fflush(stdout);
    StartLoop(context, handle, NULL);
    return 0;
}
