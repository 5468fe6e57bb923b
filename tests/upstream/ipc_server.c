/*
 * Counterpart of upstream's IpcServerTest (test/unittest/c_lite/ipc/server): a server that
 * registers a local object with the samgr twice, gets it back from the samgr, and calls back the
 * anonymous object a client sends it. Cases run in upstream's order; each reports a line
 * (case_report.h). Upstream's IpcServerTest006 sleeps 120 s before the call back; here its thread
 * waits until the client's object has arrived.
 */
#include <pthread.h>
#include <stdlib.h>

#include "case_report.h"
#include "ipc_proxy.h"
#include "ipc_skeleton.h"
#include "rpc_errno.h"
#include "serializer.h"

static SvcIdentity* sid = NULL;
static pthread_mutex_t g_sidMutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_sidArrived = PTHREAD_COND_INITIALIZER;
static MessageOption g_option = {.flags = TF_OP_SYNC};

static int CallAnonymosFunc(const char* str) {
    if (sid == NULL) return ERR_FAILED;
    IpcIo data;
    uint8_t tmpData1[IPC_MAX_SIZE];
    IpcIoInit(&data, tmpData1, IPC_MAX_SIZE, 1);
    WriteString(&data, str);

    IpcIo reply;
    MessageOption option = {.flags = TF_OP_ASYNC};
    return SendRequest(*sid, CLIENT_OP_PRINT, &data, &reply, option, NULL);
}

static int32_t RemoteRequestOne(uint32_t code, IpcIo* data, IpcIo* reply, MessageOption option) {
    (void)option;
    int32_t result = ERR_NONE;
    switch (code) {
        case SERVER_OP_ADD: {
            int32_t a;
            ReadInt32(data, &a);
            int32_t b;
            ReadInt32(data, &b);
            WriteInt32(reply, a + b);
            break;
        }
        case SERVER_OP_SUB: {
            int32_t a;
            ReadInt32(data, &a);
            int32_t b;
            ReadInt32(data, &b);
            WriteInt32(reply, a - b);
            break;
        }
        case SERVER_OP_MULTI: {
            int32_t a;
            ReadInt32(data, &a);
            int32_t b;
            ReadInt32(data, &b);
            WriteInt32(reply, a * b);
            break;
        }
        case SERVER_OP_ADD_SERVICE: {
            SvcIdentity* received = (SvcIdentity*)calloc(1, sizeof(SvcIdentity));
            ReadRemoteObject(data, received);
            pthread_mutex_lock(&g_sidMutex);
            sid = received;
            pthread_cond_broadcast(&g_sidArrived);
            pthread_mutex_unlock(&g_sidMutex);
            WriteInt32(reply, ERR_NONE);
            break;
        }
        default:
            break;
    }
    return result;
}

static int g_retCreate = -1, g_retDetach = -1;

static void* ThreadHandler(void* args) {
    (void)args;
    pthread_mutex_lock(&g_sidMutex);
    while (sid == NULL) pthread_cond_wait(&g_sidArrived, &g_sidMutex);
    pthread_mutex_unlock(&g_sidMutex);
    const char* str = "server call anonymos service new thread.";
    CASE_BEGIN("IpcServerTest006")
    CASE_EXPECT_EQ(g_retCreate, 0);
    CASE_EXPECT_EQ(g_retDetach, 0);
    CASE_EXPECT_EQ(CallAnonymosFunc(str), ERR_NONE);
    CASE_END()
    return NULL;
}

static IpcObjectStub objectStubOne = {.func = RemoteRequestOne, .isRemote = false};
static SvcIdentity svcOne = {.handle = -1, .token = 1, .cookie = (uintptr_t)&objectStubOne};
static SvcIdentity sidOne;

int main(void) {
    CASE_BEGIN("IpcServerTest001")
    IpcIo data;
    uint8_t tmpData1[IPC_MAX_SIZE];
    IpcIoInit(&data, tmpData1, IPC_MAX_SIZE, 1);
    WriteInt32(&data, SERVER_SA_ID1);
    bool res = WriteRemoteObject(NULL, &svcOne);
    CASE_EXPECT_EQ(res, false);
    CASE_END()

    CASE_BEGIN("IpcServerTest002")
    IpcIo data;
    uint8_t tmpData1[IPC_MAX_SIZE];
    IpcIoInit(&data, tmpData1, IPC_MAX_SIZE, 1);
    WriteInt32(&data, SERVER_SA_ID1);
    bool res = WriteRemoteObject(&data, NULL);
    CASE_EXPECT_EQ(res, false);
    CASE_END()

    CASE_BEGIN("IpcServerTest003")
    IpcIo data;
    uint8_t tmpData1[IPC_MAX_SIZE];
    IpcIoInit(&data, tmpData1, IPC_MAX_SIZE, 1);
    bool wr = WriteInt32(&data, SERVER_SA_ID1);
    CASE_EXPECT_EQ(wr, true);
    wr = WriteRemoteObject(&data, &svcOne);
    CASE_EXPECT_EQ(wr, true);
    IpcIo reply;
    uintptr_t ptr = 0;
    SvcIdentity target = {.handle = 0};
    int ret = SendRequest(target, ADD_SYSTEM_ABILITY_TRANSACTION, &data, &reply, g_option, &ptr);
    int res = -1;
    ReadInt32(&reply, &res);
    FreeBuffer((void*)ptr);
    CASE_EXPECT_EQ(ret, ERR_NONE);
    CASE_EXPECT_EQ(res, ERR_NONE);
    CASE_END()

    /* Upstream runs this one under __LINUX__ only: this is Linux. */
    CASE_BEGIN("IpcServerTest004")
    IpcIo data;
    uint8_t tmpData2[IPC_MAX_SIZE];
    IpcIoInit(&data, tmpData2, IPC_MAX_SIZE, 1);
    WriteInt32(&data, SERVER_SA_ID1);
    WriteRemoteObject(&data, &svcOne);
    uintptr_t ptr = 0;
    IpcIo reply;
    SvcIdentity target = {.handle = 0};
    int ret = SendRequest(target, ADD_SYSTEM_ABILITY_TRANSACTION, &data, &reply, g_option, &ptr);
    int res = -1;
    ReadInt32(&reply, &res);
    FreeBuffer((void*)ptr);
    CASE_EXPECT_EQ(ret, ERR_NONE);
    CASE_EXPECT_EQ(res, ERR_NONE);
    CASE_END()

    CASE_BEGIN("IpcServerTest005")
    IpcIo data1;
    uint8_t dataGet[IPC_MAX_SIZE];
    IpcIoInit(&data1, dataGet, IPC_MAX_SIZE, 0);
    WriteInt32(&data1, SERVER_SA_ID1);
    uintptr_t ptr = 0;
    IpcIo reply;
    const SvcIdentity* target = GetContextObject();
    CASE_EXPECT_EQ(target != NULL, true);
    int ret = SendRequest(*target, GET_SYSTEM_ABILITY_TRANSACTION, &data1, &reply, g_option, &ptr);
    ReadRemoteObject(&reply, &sidOne);
    FreeBuffer((void*)ptr);
    CASE_EXPECT_EQ(ret, ERR_NONE);
    CASE_END()

    /* IpcServerTest006: its verdict is the thread's (ThreadHandler), which starts once both
     * results are in. */
    pthread_t pid;
    pthread_mutex_lock(&g_sidMutex);
    g_retCreate = pthread_create(&pid, NULL, ThreadHandler, NULL);
    g_retDetach = pthread_detach(pid);
    pthread_mutex_unlock(&g_sidMutex);
    JoinWorkThread();
    return 0;
}
