/*
 * A LiteIPC echo service written against the C API (liteipc/liteipc_adapter.h).
 *
 *   echo_service [--socket PATH] [--pin-root PATH] [--name NAME] [--serve-for SECONDS]
 *
 * Serves until SIGTERM or SIGINT (or --serve-for), then exits 0. LITEIPC_SOCKET and
 * LITEIPC_PIN_ROOT name a private liteipc-loader when the options don't.
 *
 * Codes: 1 echo a string, 2 add two int32, 3 who is calling, 4 (oneway) print a note.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "liteipc/liteipc_adapter.h"

enum { ECHO = 1, ADD = 2, WHO = 3, NOTE = 4 };

static IpcContext* g_context;

static void on_signal(int signo) {
    (void)signo;
    LiteIpcStopLoop(g_context); /* async-signal-safe */
}

static int32_t handle(const IpcContext* context, void* ipcMsg, IpcIo* data, void* arg) {
    (void)arg;
    uint32_t code = 0;
    GetCode(ipcMsg, &code);
    uint8_t out[512];
    IpcIo reply;
    IpcIoInit(&reply, out, sizeof out, 0);
    switch (code) {
        case ECHO: {
            size_t length = 0;
            const char* text = (const char*)IpcIoPopString(data, &length);
            IpcIoPushString(&reply, text != NULL ? text : "");
            break;
        }
        case ADD: {
            int32_t a = IpcIoPopInt32(data);
            int32_t b = IpcIoPopInt32(data);
            IpcIoPushInt32(&reply, a + b);
            break;
        }
        case WHO:
            IpcIoPushInt32(&reply, GetCallingPid(ipcMsg));
            IpcIoPushInt32(&reply, GetCallingUid(ipcMsg));
            break;
        case NOTE: {
            const char* note = (const char*)IpcIoPopString(data, NULL);
            printf("echo_service: note from pid %d: %s\n", (int)GetCallingPid(ipcMsg), note != NULL ? note : "?");
            fflush(stdout);
            FreeBuffer(context, ipcMsg);
            return 0; /* oneway: no reply */
        }
        default:
            break;
    }
    if (!IpcIoAvailable(data)) printf("echo_service: code %u: malformed request\n", code);
    SendReply(context, ipcMsg, &reply);
    return 0;
}

static void usage(const char* self) {
    fprintf(stderr, "usage: %s [--socket PATH] [--pin-root PATH] [--name NAME] [--serve-for SECONDS]\n", self);
}

int main(int argc, char** argv) {
    const char* name = "example.c.echo";
    unsigned serve_for = 0;
    for (int i = 1; i < argc; ++i) {
        if (i + 1 < argc && strcmp(argv[i], "--socket") == 0) {
            setenv("LITEIPC_SOCKET", argv[++i], 1);
        } else if (i + 1 < argc && strcmp(argv[i], "--pin-root") == 0) {
            setenv("LITEIPC_PIN_ROOT", argv[++i], 1);
        } else if (i + 1 < argc && strcmp(argv[i], "--name") == 0) {
            name = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--serve-for") == 0) {
            serve_for = (unsigned)strtoul(argv[++i], NULL, 10);
        } else {
            usage(argv[0]);
            return 2;
        }
    }

    g_context = OpenLiteIpc(LITEIPC_DEFAULT_MAP_SIZE);
    if (g_context == NULL) {
        fprintf(stderr, "echo_service: OpenLiteIpc failed: is liteipc-loader running (LITEIPC_SOCKET)?\n");
        return 1;
    }
    SvcIdentity sid;
    int32_t ret = LiteIpcRegisterService(g_context, name, handle, NULL, &sid);
    if (ret != LITEIPC_OK) {
        fprintf(stderr, "echo_service: registering '%s' failed: %d\n", name, ret);
        CloseLiteIpc(g_context);
        return 1;
    }

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGALRM, &action, NULL);
    if (serve_for > 0) alarm(serve_for);

    printf("echo_service: serving '%s' (handle %u, pid %d)\n", name, sid.handle, (int)getpid());
    fflush(stdout);
    /* The service runs on its worker threads; StartLoop keeps this thread until told to stop. */
    ret = StartLoop(g_context, handle, NULL);
    CloseLiteIpc(g_context);
    printf("echo_service: stopped\n");
    return ret == LITEIPC_OK ? 0 : 1;
}
