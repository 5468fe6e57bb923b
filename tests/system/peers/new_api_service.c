/* A service written against the newer LiteIPC C API (ipc_skeleton.h), as an upstream one is: its
 * object is the context object, so any client reaches it as handle 0. Serves until killed. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipc_skeleton.h"
#include "peer_protocol.h"
#include "rpc_errno.h"

static int32_t on_request(uint32_t code, IpcIo* data, IpcIo* reply, MessageOption option) {
    (void)option;
    switch (code) {
        case PEER_ADD: {
            int32_t n = 0;
            ReadInt32(data, &n);
            size_t length = 0;
            const char* s = (const char*)ReadString(data, &length);
            WriteInt32(reply, n + 1);
            WriteString(reply, s != NULL ? s : "");
            WriteInt32(reply, getpid());
            return ERR_NONE;
        }
        case PEER_FD: {
            int fd = ReadFileDescriptor(data);
            char first = 0;
            if (fd < 0 || read(fd, &first, 1) != 1) first = -1;
            if (fd >= 0) close(fd);
            int pipefd[2];
            if (pipe(pipefd) != 0 || write(pipefd[1], "peer", 4) != 4) return ERR_FAILED;
            WriteInt32(reply, first);
            WriteFileDescriptor(reply, (uint32_t)pipefd[0]); /* sent with the reply, after this returns */
            close(pipefd[1]);
            return ERR_NONE;
        }
        case PEER_CALL_BACK: {
            SvcIdentity target;
            int32_t n = 0, answer = -1;
            if (ReadRemoteObject(data, &target) && ReadInt32(data, &n)) {
                uint8_t request_data[64];
                IpcIo request, answer_io;
                IpcIoInit(&request, request_data, sizeof request_data, 0);
                WriteInt32(&request, n);
                WriteString(&request, "from the new API");
                MessageOption sync;
                MessageOptionInit(&sync);
                uintptr_t buffer = 0;
                if (SendRequest(target, PEER_ADD, &request, &answer_io, sync, &buffer) == ERR_NONE) {
                    ReadInt32(&answer_io, &answer);
                    FreeBuffer((void*)buffer);
                }
            }
            WriteInt32(reply, answer);
            return ERR_NONE;
        }
        case PEER_WHO:
            WriteInt32(reply, GetCallingPid());
            return ERR_NONE;
        default:
            return IPC_INVOKER_UNKNOWN_CODE;
    }
}

int main(void) {
    static IpcObjectStub stub = {.func = on_request, .args = NULL, .isRemote = false};
    SvcIdentity self = {.handle = MIN_BINDER_HANDLE, .token = 0, .cookie = (uintptr_t)&stub};
    if (SetContextObject(self) != ERR_NONE) return 1;
    printf("ready\n");
    fflush(stdout);
    JoinWorkThread();
    return 0;
}
