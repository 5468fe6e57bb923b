/*
 * A LiteIPC client written against the C API: finds the echo service, makes a few calls, exits.
 *
 *   echo_client [--socket PATH] [--pin-root PATH] [--name NAME]
 *
 * Exits 0 when every call succeeded, 1 with the failing call and its LITEIPC_* code otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "liteipc/liteipc_adapter.h"

enum { ECHO = 1, ADD = 2, WHO = 3, NOTE = 4 };

static const char* error_name(int32_t ret) {
    switch (ret) {
        case LITEIPC_EINVAL: return "LITEIPC_EINVAL";
        case LITEIPC_EBADF: return "LITEIPC_EBADF";
        case LITEIPC_ENOMEM: return "LITEIPC_ENOMEM";
        case LITEIPC_ENOENT: return "LITEIPC_ENOENT (no such service)";
        case LITEIPC_EINTNL: return "LITEIPC_EINTNL";
        case LITEIPC_EPERM: return "LITEIPC_EPERM (the service's policy refuses this process)";
        case LITEIPC_ETIMEDOUT: return "LITEIPC_ETIMEDOUT";
        case LITEIPC_EEXIST: return "LITEIPC_EEXIST";
        case LITEIPC_DEAD_OBJECT: return "LITEIPC_DEAD_OBJECT (the service died)";
        default: return "unexpected result";
    }
}

static int fail(const char* what, int32_t ret) {
    fprintf(stderr, "echo_client: %s failed: %d %s\n", what, ret, error_name(ret));
    return 1;
}

int main(int argc, char** argv) {
    const char* name = "example.c.echo";
    for (int i = 1; i < argc; ++i) {
        if (i + 1 < argc && strcmp(argv[i], "--socket") == 0) {
            setenv("LITEIPC_SOCKET", argv[++i], 1);
        } else if (i + 1 < argc && strcmp(argv[i], "--pin-root") == 0) {
            setenv("LITEIPC_PIN_ROOT", argv[++i], 1);
        } else if (i + 1 < argc && strcmp(argv[i], "--name") == 0) {
            name = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--socket PATH] [--pin-root PATH] [--name NAME]\n", argv[0]);
            return 2;
        }
    }

    IpcContext* context = OpenLiteIpc(LITEIPC_DEFAULT_MAP_SIZE);
    if (context == NULL) {
        fprintf(stderr, "echo_client: OpenLiteIpc failed: is liteipc-loader running (LITEIPC_SOCKET)?\n");
        return 1;
    }
    int status = 0;
    SvcIdentity echo;
    int32_t ret = LiteIpcGetService(context, name, &echo);
    if (ret != LITEIPC_OK) {
        status = fail("LiteIpcGetService", ret);
        goto out;
    }

    /* 1: a string there and back. */
    {
        uint8_t data[256];
        IpcIo request, reply;
        uintptr_t buffer = 0;
        IpcIoInit(&request, data, sizeof data, 0);
        IpcIoPushString(&request, "hello from C");
        ret = SendRequest(context, echo, ECHO, &request, &reply, LITEIPC_FLAG_DEFAULT, &buffer);
        if (ret != LITEIPC_OK) {
            status = fail("echo", ret);
            goto out;
        }
        const char* text = (const char*)IpcIoPopString(&reply, NULL);
        printf("echo_client: echo -> \"%s\"\n", text != NULL ? text : "(none)");
        if (text == NULL || strcmp(text, "hello from C") != 0) status = fail("echo (wrong answer)", -1);
        FreeBuffer(context, (void*)buffer);
    }
    /* 2: integers. */
    {
        uint8_t data[64];
        IpcIo request, reply;
        uintptr_t buffer = 0;
        IpcIoInit(&request, data, sizeof data, 0);
        IpcIoPushInt32(&request, 40);
        IpcIoPushInt32(&request, 2);
        ret = SendRequest(context, echo, ADD, &request, &reply, LITEIPC_FLAG_DEFAULT, &buffer);
        if (ret != LITEIPC_OK) {
            status = fail("add", ret);
            goto out;
        }
        int32_t sum = IpcIoPopInt32(&reply);
        printf("echo_client: 40 + 2 -> %d\n", sum);
        if (sum != 42) status = fail("add (wrong answer)", -1);
        FreeBuffer(context, (void*)buffer);
    }
    /* 3: who the service sees (stamped by the kernel). */
    {
        IpcIo reply;
        uintptr_t buffer = 0;
        ret = SendRequest(context, echo, WHO, NULL, &reply, LITEIPC_FLAG_DEFAULT, &buffer);
        if (ret != LITEIPC_OK) {
            status = fail("who", ret);
            goto out;
        }
        int32_t pid = IpcIoPopInt32(&reply);
        int32_t uid = IpcIoPopInt32(&reply);
        printf("echo_client: the service sees pid %d uid %d (this is pid %d)\n", pid, uid, (int)getpid());
        if (pid != (int32_t)getpid()) status = fail("who (wrong pid)", -1);
        FreeBuffer(context, (void*)buffer);
    }
    /* 4: a oneway note. */
    {
        uint8_t data[128];
        IpcIo request;
        IpcIoInit(&request, data, sizeof data, 0);
        IpcIoPushString(&request, "bye");
        ret = SendRequest(context, echo, NOTE, &request, NULL, LITEIPC_FLAG_ONEWAY, NULL);
        if (ret != LITEIPC_OK) {
            status = fail("note", ret);
            goto out;
        }
        printf("echo_client: oneway note sent\n");
    }

out:
    CloseLiteIpc(context);
    return status;
}
