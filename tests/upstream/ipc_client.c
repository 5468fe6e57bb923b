/*
 * Counterpart of upstream's IpcClientTest (test/unittest/c_lite/ipc/client): a client that gets
 * the server from the samgr, calls it, hands it an anonymous object of its own, and adds and
 * removes death recipients (upstream's limit of 4 per target, ERR_INVALID_PARAM on a handle it was
 * not given). Cases run in upstream's order; each reports a line (case_report.h). Upstream's
 * IpcClientTest009 spins forever so that someone can kill the server and watch; here it waits for
 * both recipients and reports them.
 */
#include <pthread.h>
#include <time.h>

#include "case_report.h"
#include "ipc_proxy.h"
#include "ipc_skeleton.h"
#include "rpc_errno.h"
#include "serializer.h"

#define PERFORMANCE_TEST_TIMES 100

static SvcIdentity sidServer;
static MessageOption g_option = {.flags = TF_OP_SYNC};

static uint32_t cbId1 = -1;
static uint32_t cbId2 = -1;
static uint32_t cbId3 = -1;
static uint32_t cbId4 = -1;
static uint32_t cbId5 = -1;

static int32_t RemoteRequest(uint32_t code, IpcIo* data, IpcIo* reply, MessageOption option) {
    (void)option;
    int32_t result = ERR_NONE;
    switch (code) {
        case CLIENT_OP_ADD: {
            int32_t a;
            ReadInt32(data, &a);
            int32_t b;
            ReadInt32(data, &b);
            WriteInt32(reply, a + b);
            break;
        }
        case CLIENT_OP_SUB: {
            int32_t a;
            ReadInt32(data, &a);
            int32_t b;
            ReadInt32(data, &b);
            WriteInt32(reply, a - b);
            break;
        }
        case CLIENT_OP_PRINT: {
            size_t len;
            char* str = (char*)ReadString(data, &len);
            ReportLine("CLIENT_OP_PRINT %s", str != NULL ? str : "(null)");
            break;
        }
        default:
            break;
    }
    return result;
}

static pthread_mutex_t g_deadMutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_deadChanged = PTHREAD_COND_INITIALIZER;
static int g_dead1 = 0, g_dead2 = 0, g_dead3 = 0;

static void Count(int* counter) {
    pthread_mutex_lock(&g_deadMutex);
    ++*counter;
    pthread_cond_broadcast(&g_deadChanged);
    pthread_mutex_unlock(&g_deadMutex);
}
static void ServerDead1(void) { Count(&g_dead1); }
static void ServerDead2(void) { Count(&g_dead2); }
static void ServerDead3(void) { Count(&g_dead3); }

static IpcObjectStub objectStub = {.func = RemoteRequest, .isRemote = false};
static SvcIdentity clientSvc = {.handle = -1, .token = 0, .cookie = (uintptr_t)&objectStub};

int main(void) {
    CASE_BEGIN("IpcClientTest001")
    IpcIo data1;
    uint8_t tmpData1[IPC_MAX_SIZE];
    IpcIoInit(&data1, tmpData1, IPC_MAX_SIZE, 0);
    WriteInt32(&data1, SERVER_SA_ID1);
    SvcIdentity target = {.handle = 0};
    IpcIo reply1;
    uintptr_t ptr = 0;
    int ret = SendRequest(target, GET_SYSTEM_ABILITY_TRANSACTION, &data1, &reply1, g_option, &ptr);
    ReadRemoteObject(&reply1, &sidServer);
    FreeBuffer((void*)ptr);
    CASE_EXPECT_EQ(ret, ERR_NONE);
    CASE_END()

    CASE_BEGIN("IpcClientTest002")
    IpcIo data2;
    uint8_t tmpData2[IPC_MAX_SIZE];
    IpcIoInit(&data2, tmpData2, IPC_MAX_SIZE, 0);
    WriteInt32(&data2, OP_A);
    WriteInt32(&data2, OP_B);
    IpcIo reply2;
    uintptr_t ptr2 = 0;
    int ret = SendRequest(sidServer, SERVER_OP_ADD, &data2, &reply2, g_option, &ptr2);
    int res = -1;
    ReadInt32(&reply2, &res);
    FreeBuffer((void*)ptr2);
    CASE_EXPECT_EQ(ret, ERR_NONE);
    CASE_EXPECT_EQ(res, OP_A + OP_B);
    CASE_END()

    CASE_BEGIN("IpcServerTest002_01")
    IpcIo data2;
    uint8_t dataMulti[IPC_MAX_SIZE];
    IpcIoInit(&data2, dataMulti, IPC_MAX_SIZE, 0);
    WriteInt32(&data2, OP_A);
    WriteInt32(&data2, OP_B);
    IpcIo reply;
    uintptr_t ptr = 0;
    int ret = SendRequest(sidServer, SERVER_OP_MULTI, &data2, &reply, g_option, &ptr);
    int res = -1;
    ReadInt32(&reply, &res);
    FreeBuffer((void*)ptr);
    CASE_EXPECT_EQ(ret, ERR_NONE);
    CASE_EXPECT_EQ(res, OP_A * OP_B);
    CASE_END()

    CASE_BEGIN("IpcClientTest003")
    IpcIo anonymous;
    uint8_t anonymousData[IPC_MAX_SIZE];
    IpcIoInit(&anonymous, anonymousData, IPC_MAX_SIZE, 1);
    WriteRemoteObject(&anonymous, &clientSvc);
    IpcIo anonymousreply;
    uintptr_t anonymousptr = 0;
    int ret = SendRequest(sidServer, SERVER_OP_ADD_SERVICE, &anonymous, &anonymousreply, g_option, &anonymousptr);
    int res = -1;
    ReadInt32(&anonymousreply, &res);
    FreeBuffer((void*)anonymousptr);
    CASE_EXPECT_EQ(ret, ERR_NONE);
    CASE_EXPECT_EQ(res, ERR_NONE);
    CASE_END()

    CASE_BEGIN("IpcClientTest004")
    int ret = AddDeathRecipient(sidServer, (OnRemoteDead)ServerDead1, NULL, &cbId1);
    CASE_EXPECT_EQ(ret, ERR_NONE);
    ret = AddDeathRecipient(sidServer, (OnRemoteDead)ServerDead2, NULL, &cbId2);
    CASE_EXPECT_EQ(ret, ERR_NONE);
    ret = AddDeathRecipient(sidServer, (OnRemoteDead)ServerDead3, NULL, &cbId3);
    CASE_EXPECT_EQ(ret, ERR_NONE);
    ret = AddDeathRecipient(sidServer, (OnRemoteDead)ServerDead3, NULL, &cbId4);
    CASE_EXPECT_EQ(ret, ERR_NONE);
    ret = AddDeathRecipient(sidServer, (OnRemoteDead)ServerDead3, NULL, &cbId5); /* the 5th: refused */
    CASE_EXPECT_EQ(ret, ERR_INVALID_PARAM);
    CASE_END()

    CASE_BEGIN("IpcClientTest005")
    int ret = RemoveDeathRecipient(sidServer, cbId2);
    CASE_EXPECT_EQ(ret, ERR_NONE);
    ret = RemoveDeathRecipient(sidServer, cbId4);
    CASE_EXPECT_EQ(ret, ERR_NONE);
    ret = RemoveDeathRecipient(sidServer, cbId1);
    CASE_EXPECT_EQ(ret, ERR_NONE);
    ret = RemoveDeathRecipient(sidServer, cbId3);
    CASE_EXPECT_EQ(ret, ERR_NONE);
    CASE_END()

    CASE_BEGIN("IpcClientTest006")
    ++sidServer.handle;
    int ret = AddDeathRecipient(sidServer, (OnRemoteDead)ServerDead3, NULL, &cbId5);
    CASE_EXPECT_EQ(ret, ERR_INVALID_PARAM);
    ret = RemoveDeathRecipient(sidServer, cbId3);
    CASE_EXPECT_EQ(ret, ERR_INVALID_PARAM);
    --sidServer.handle;
    CASE_END()

    CASE_BEGIN("IpcClientTest007")
    IpcIo data2;
    uint8_t tmpData2[IPC_MAX_SIZE];
    IpcIoInit(&data2, tmpData2, IPC_MAX_SIZE, 0);
    WriteInt32(&data2, OP_A);
    WriteInt32(&data2, OP_B);
    IpcIo reply2;
    uintptr_t ptr2 = 0;
    int res;
    struct timespec start = {0, 0};
    struct timespec end = {0, 0};
    clock_gettime(CLOCK_REALTIME, &start);
    for (int i = 0; i < PERFORMANCE_TEST_TIMES; i++) {
        int ret = SendRequest(sidServer, SERVER_OP_ADD, &data2, &reply2, g_option, &ptr2);
        CASE_EXPECT_EQ(ret, ERR_NONE);
        ReadInt32(&reply2, &res);
        FreeBuffer((void*)ptr2);
    }
    clock_gettime(CLOCK_REALTIME, &end);
    CASE_EXPECT_EQ(res, OP_A + OP_B); /* upstream only logs the time */
    CASE_END()

    CASE_BEGIN("IpcClientTest008")
    IpcIo data2;
    uint8_t tmpData2[IPC_MAX_SIZE];
    IpcIoInit(&data2, tmpData2, IPC_MAX_SIZE, 0);
    WriteInt32(&data2, OP_A);
    WriteInt32(&data2, OP_B);
    MessageOption option = {.flags = TF_OP_ASYNC};
    for (int i = 0; i < PERFORMANCE_TEST_TIMES; i++) {
        int ret = SendRequest(sidServer, SERVER_OP_ADD, &data2, NULL, option, NULL);
        CASE_EXPECT_EQ(ret, ERR_NONE);
    }
    CASE_END()

    /* IpcClientTest009: its verdict comes when the server dies (the driver kills it). */
    int ret1 = AddDeathRecipient(sidServer, (OnRemoteDead)ServerDead1, NULL, &cbId1);
    int ret2 = AddDeathRecipient(sidServer, (OnRemoteDead)ServerDead2, NULL, &cbId2);
    ReportLine("IpcClientTest009.added %d %d", ret1, ret2);
    CASE_BEGIN("IpcClientTest009")
    CASE_EXPECT_EQ(ret1, ERR_NONE);
    CASE_EXPECT_EQ(ret2, ERR_NONE);
    pthread_mutex_lock(&g_deadMutex);
    while (g_dead1 == 0 || g_dead2 == 0) pthread_cond_wait(&g_deadChanged, &g_deadMutex);
    pthread_mutex_unlock(&g_deadMutex);
    CASE_EXPECT_EQ(g_dead1, 1);
    CASE_EXPECT_EQ(g_dead2, 1);
    CASE_EXPECT_EQ(g_dead3, 0); /* removed in IpcClientTest005 */
    CASE_END()
    JoinWorkThread();
    return 0;
}
