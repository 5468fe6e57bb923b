/*
 * Counterpart of upstream's IpcSamgrTest (test/unittest/c_lite/ipc/samgr): a service manager
 * written as upstream's is. It keeps the SvcIdentity each server sends it (ReadRemoteObject) and
 * writes the kept one into the reply of a client that asks for it (WriteRemoteObject): a
 * reference it was handed, passed on.
 */
#include <stdlib.h>

#include "case_report.h"
#include "ipc_proxy.h"
#include "ipc_skeleton.h"
#include "rpc_errno.h"
#include "serializer.h"

typedef struct SvcInfo {
    struct SvcInfo* next;
    int32_t saId;
    SvcIdentity* sid;
} SvcInfo;

static SvcInfo* g_saList = NULL;
static int32_t g_saSum = 0;

/* The newest registration of an id comes first, as upstream's list (DLListAdd at its head). */
static int32_t AddSystemAbility(int32_t saId, SvcIdentity* sid) {
    SvcInfo* node = (SvcInfo*)calloc(1, sizeof(SvcInfo));
    if (node == NULL) return ERR_FAILED;
    node->saId = saId;
    node->sid = sid;
    node->next = g_saList;
    g_saList = node;
    g_saSum++;
    return ERR_NONE;
}

static int32_t GetSystemAbility(int32_t saId, const char* deviceId, SvcIdentity* sid) {
    (void)deviceId;
    for (SvcInfo* node = g_saList; node != NULL; node = node->next) {
        if (node->saId == saId) {
            sid->handle = node->sid->handle;
            sid->token = node->sid->token;
            sid->cookie = node->sid->cookie;
            return ERR_NONE;
        }
    }
    return ERR_FAILED;
}

static int32_t RemoteRequest(uint32_t code, IpcIo* data, IpcIo* reply, MessageOption option) {
    (void)option;
    int32_t result = ERR_NONE;
    switch (code) {
        case ADD_SYSTEM_ABILITY_TRANSACTION: {
            int32_t saId;
            ReadInt32(data, &saId);
            SvcIdentity* sid = (SvcIdentity*)malloc(sizeof(SvcIdentity));
            if (sid == NULL) return ERR_FAILED;
            ReadRemoteObject(data, sid);
            result = AddSystemAbility(saId, sid);
            if (result != ERR_NONE) return result;
            WriteInt32(reply, result);
            break;
        }
        case GET_SYSTEM_ABILITY_TRANSACTION: {
            int32_t saId;
            ReadInt32(data, &saId);
            SvcIdentity sid;
            result = GetSystemAbility(saId, "", &sid);
            if (result != ERR_NONE) return result;
            WriteRemoteObject(reply, &sid);
            break;
        }
        default:
            break;
    }
    return result;
}

int main(void) {
    static IpcObjectStub objectStub = {.func = RemoteRequest, .isRemote = false};
    SvcIdentity target = {.handle = 0, .cookie = (uintptr_t)&objectStub};

    CASE_BEGIN("IpcSamgrTest001")
    int ret = SetContextObject(target);
    CASE_EXPECT_EQ(ret, ERR_NONE);
    CASE_END()

    JoinWorkThread();
    return 0;
}
