/* A LiteIPC C program as upstream writes it: the header by its bare name, an IpcIo sized as
 * LiteIPC sizes it. Exits 0 when 16 int32 fit 64 bytes and a 17th does not. */
#include <stdio.h>

#include "liteipc_adapter.h"

int main(void) {
    char buffer[64];
    IpcIo io;
    IpcIoInit(&io, buffer, sizeof buffer, 0);
    for (int i = 0; i < 16; ++i) IpcIoPushInt32(&io, i);
    int fits = IpcIoAvailable(&io);
    IpcIoPushInt32(&io, 16);
    printf("old_api: %s\n", fits && !IpcIoAvailable(&io) ? "capacity as LiteIPC's" : "capacity differs");
    return fits && !IpcIoAvailable(&io) ? 0 : 1;
}
