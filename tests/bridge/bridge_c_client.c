/* The C client of the bridge tests, written against LiteIPC's older C API as upstream code is:
 *   bridge_c_client --name NAME --text TEXT [--socket PATH] [--pin-root PATH]
 * Echoes TEXT (code 1), sends it as a oneway note (code 4, as the example services read it), and
 * echoes it once more.
 * Prints `echo -> "TEXT"`, or `echo failed: RET` with SendRequest's LITEIPC_* code; exits 0 or 1. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liteipc/liteipc_adapter.h"

enum { ECHO = 1, NOTE = 4 };

/* Echoes `text`; prints the echo, or what failed with `what`. */
static int echo(IpcContext* context, SvcIdentity service, const char* text, const char* what) {
    uint8_t data[256];
    IpcIo request, reply;
    uintptr_t buffer = 0;
    IpcIoInit(&request, data, sizeof data, 0);
    IpcIoPushString(&request, text);
    int32_t ret = SendRequest(context, service, ECHO, &request, &reply, LITEIPC_FLAG_DEFAULT, &buffer);
    if (ret != LITEIPC_OK) {
        printf("%s failed: %d\n", what, ret);
        return 1;
    }
    const char* echoed = (const char*)IpcIoPopString(&reply, NULL);
    printf("%s -> \"%s\"\n", what, echoed != NULL ? echoed : "(none)");
    FreeBuffer(context, (void*)buffer);
    return 0;
}

int main(int argc, char** argv) {
    const char* name = NULL;
    const char* text = "";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--socket") == 0) setenv("LITEIPC_SOCKET", argv[i + 1], 1);
        else if (strcmp(argv[i], "--pin-root") == 0) setenv("LITEIPC_PIN_ROOT", argv[i + 1], 1);
        else if (strcmp(argv[i], "--name") == 0) name = argv[i + 1];
        else if (strcmp(argv[i], "--text") == 0) text = argv[i + 1];
    }
    if (name == NULL) return 2;
    IpcContext* context = OpenLiteIpc(LITEIPC_DEFAULT_MAP_SIZE);
    if (context == NULL) return 1;
    SvcIdentity service;
    int32_t ret = LiteIpcGetService(context, name, &service);
    if (ret != LITEIPC_OK) {
        printf("get service failed: %d\n", ret);
        return 1;
    }
    if (echo(context, service, text, "echo") != 0) return 1;

    uint8_t data[256];
    IpcIo request;
    IpcIoInit(&request, data, sizeof data, 0);
    IpcIoPushString(&request, text);
    ret = SendRequest(context, service, NOTE, &request, NULL, LITEIPC_FLAG_ONEWAY, NULL);
    if (ret != LITEIPC_OK) {
        printf("note failed: %d\n", ret);
        return 1;
    }
    /* A oneway message still in the ring when its sender exits is dropped with the connection:
     * one more call keeps the connection until the service has taken the note. */
    if (echo(context, service, text, "last echo") != 0) return 1;
    CloseLiteIpc(context);
    return 0;
}
