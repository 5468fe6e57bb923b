/* A program of the newer LiteIPC C API as upstream writes it: headers by their bare names.
 * Exits 0 when the options and the serializer behave as upstream's. */
#include <stdio.h>

#include "ipc_skeleton.h"
#include "rpc_errno.h"

int main(void) {
    MessageOption option;
    char buffer[64];
    IpcIo io;
    int ok = MessageOptionInit(&option) == ERR_NONE && option.flags == TF_OP_SYNC;
    IpcIoInit(&io, buffer, sizeof buffer, 0);
    for (int i = 0; i < 16; ++i) ok = ok && WriteInt32(&io, i);
    ok = ok && !WriteInt32(&io, 16) && GetContextObject()->handle == 0;
    printf("new_api: %s\n", ok ? "as upstream's" : "differs");
    return ok ? 0 : 1;
}
