/*
 * A service manager written the way OpenHarmony's samgr is, against the newer LiteIPC C API
 * (ipc_skeleton.h): the context object (handle 0 for every process) keeps the SvcIdentity each
 * service sends it under an id, and writes the kept one into the reply of whoever asks for that
 * id. A reference it was handed is a capability it may hand on: the loader lets the asker reach
 * the service as if the service had granted it (docs/SECURITY.md).
 *
 *   samgr                 serves until killed (LITEIPC_SOCKET / LITEIPC_PIN_ROOT: the loader)
 *   samgr --register ID   a demo service: registers an adder under ID, then serves
 *   samgr --call ID A B   a demo client: asks the samgr for ID and calls it with A and B
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_skeleton.h"
#include "rpc_errno.h"
#include "serializer.h"

enum { GET_SYSTEM_ABILITY = 1, ADD_SYSTEM_ABILITY = 2 };
enum { ADDER_ADD = 1 };

/* What the samgr keeps: one reference per id, the newest first. */
typedef struct Ability {
    struct Ability* next;
    int32_t id;
    SvcIdentity sid;
} Ability;

static Ability* g_abilities = NULL;
static pthread_mutex_t g_abilitiesMutex = PTHREAD_MUTEX_INITIALIZER; /* requests run on several workers */

static int32_t AddAbility(int32_t id, const SvcIdentity* sid) {
    Ability* node = (Ability*)calloc(1, sizeof(Ability));
    if (node == NULL) return ERR_FAILED;
    node->id = id;
    node->sid = *sid;
    pthread_mutex_lock(&g_abilitiesMutex);
    node->next = g_abilities;
    g_abilities = node;
    pthread_mutex_unlock(&g_abilitiesMutex);
    return ERR_NONE;
}

static int FindAbility(int32_t id, SvcIdentity* sid) {
    int found = 0;
    pthread_mutex_lock(&g_abilitiesMutex);
    for (const Ability* node = g_abilities; node != NULL && !found; node = node->next) {
        if (node->id == id) {
            *sid = node->sid;
            found = 1;
        }
    }
    pthread_mutex_unlock(&g_abilitiesMutex);
    return found;
}

static int32_t SamgrRequest(uint32_t code, IpcIo* data, IpcIo* reply, MessageOption option) {
    (void)option;
    int32_t id = 0;
    if (!ReadInt32(data, &id)) return ERR_INVALID_PARAM;
    switch (code) {
        case ADD_SYSTEM_ABILITY: {
            SvcIdentity sid;
            if (!ReadRemoteObject(data, &sid)) return ERR_INVALID_PARAM;
            int32_t result = AddAbility(id, &sid);
            WriteInt32(reply, result);
            printf("samgr: id %d -> handle %d (from pid %d)\n", id, sid.handle, GetCallingPid());
            return result;
        }
        case GET_SYSTEM_ABILITY: {
            SvcIdentity sid;
            if (!FindAbility(id, &sid)) return ERR_FAILED;
            WriteRemoteObject(reply, &sid); /* hands on what it was handed */
            return ERR_NONE;
        }
        default:
            return IPC_INVOKER_UNKNOWN_CODE;
    }
}

static int32_t AdderRequest(uint32_t code, IpcIo* data, IpcIo* reply, MessageOption option) {
    (void)option;
    int32_t a = 0, b = 0;
    if (code != ADDER_ADD || !ReadInt32(data, &a) || !ReadInt32(data, &b)) return ERR_INVALID_PARAM;
    WriteInt32(reply, a + b);
    return ERR_NONE;
}

static int Serve(void) {
    static IpcObjectStub samgr = {.func = SamgrRequest, .isRemote = false};
    SvcIdentity target = {.handle = 0, .cookie = (uintptr_t)&samgr};
    int32_t ret = SetContextObject(target);
    if (ret != ERR_NONE) {
        fprintf(stderr, "samgr: SetContextObject: %d\n", ret);
        return 1;
    }
    printf("samgr: serving\n");
    fflush(stdout);
    JoinWorkThread();
    return 0;
}

static int Register(int32_t id) {
    static IpcObjectStub adder = {.func = AdderRequest, .isRemote = false};
    SvcIdentity self = {.handle = MIN_BINDER_HANDLE, .token = 0, .cookie = (uintptr_t)&adder};
    uint8_t bytes[128];
    IpcIo data, reply;
    IpcIoInit(&data, bytes, sizeof bytes, 1);
    WriteInt32(&data, id);
    WriteRemoteObject(&data, &self);
    MessageOption option;
    MessageOptionInit(&option);
    uintptr_t buffer = 0;
    int32_t ret = SendRequest(*GetContextObject(), ADD_SYSTEM_ABILITY, &data, &reply, option, &buffer);
    int32_t result = ERR_FAILED;
    if (ret == ERR_NONE) {
        ReadInt32(&reply, &result);
        FreeBuffer((void*)buffer);
    }
    if (ret != ERR_NONE || result != ERR_NONE) {
        fprintf(stderr, "service: ADD_SYSTEM_ABILITY: %d / %d\n", ret, result);
        return 1;
    }
    printf("service: registered as %d\n", id);
    fflush(stdout);
    JoinWorkThread();
    return 0;
}

static int Call(int32_t id, int32_t a, int32_t b) {
    uint8_t bytes[128];
    IpcIo data, reply;
    IpcIoInit(&data, bytes, sizeof bytes, 0);
    WriteInt32(&data, id);
    MessageOption option;
    MessageOptionInit(&option);
    uintptr_t buffer = 0;
    SvcIdentity adder;
    int32_t ret = SendRequest(*GetContextObject(), GET_SYSTEM_ABILITY, &data, &reply, option, &buffer);
    if (ret != ERR_NONE || !ReadRemoteObject(&reply, &adder)) {
        fprintf(stderr, "client: no service %d (%d)\n", id, ret);
        return 1;
    }
    FreeBuffer((void*)buffer);

    IpcIoInit(&data, bytes, sizeof bytes, 0);
    WriteInt32(&data, a);
    WriteInt32(&data, b);
    ret = SendRequest(adder, ADDER_ADD, &data, &reply, option, &buffer);
    int32_t sum = 0;
    if (ret != ERR_NONE || !ReadInt32(&reply, &sum)) {
        fprintf(stderr, "client: call: %d\n", ret);
        return 1;
    }
    FreeBuffer((void*)buffer);
    printf("client: %d\n", sum);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 1) return Serve();
    if (argc == 3 && strcmp(argv[1], "--register") == 0) return Register(atoi(argv[2]));
    if (argc == 5 && strcmp(argv[1], "--call") == 0) return Call(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    fprintf(stderr, "usage: samgr | samgr --register ID | samgr --call ID A B\n");
    return 2;
}
