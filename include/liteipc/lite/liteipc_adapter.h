/*
 * LiteIPC-compatible calls: the liteipc_adapter.h C API. With the flags pkg-config or
 * find_package(liteipc) give, it is included as LiteIPC code does: #include "liteipc_adapter.h".
 *
 * Names and semantics follow OpenHarmony LiteIPC's liteipc_adapter.h, so C code written for
 * LiteIPC builds against this header. The implementation is the C++ API (liteipc/ipc.h and
 * liteipc/context.h); this header includes only C headers and compiles as C11 and C++.
 *
 *   IpcContext* ctx = OpenLiteIpc(LITEIPC_DEFAULT_MAP_SIZE);
 *   SvcIdentity echo;
 *   LiteIpcGetService(ctx, "demo.echo", &echo);
 *   IpcIo request, reply;
 *   uint8_t data[256];
 *   IpcIoInit(&request, data, sizeof data, 0);
 *   IpcIoPushString(&request, "hello");
 *   uintptr_t buffer = 0;
 *   if (SendRequest(ctx, echo, 1, &request, &reply, LITEIPC_FLAG_DEFAULT, &buffer) == LITEIPC_OK) {
 *       printf("%s\n", (char*)IpcIoPopString(&reply, NULL));
 *       FreeBuffer(ctx, (void*)buffer);
 *   }
 *   CloseLiteIpc(ctx);
 *
 * The process context
 *   One per process, as in LiteIPC: OpenLiteIpc registers the process with liteipc-loader and
 *   returns the same IpcContext on every call (counted); the last CloseLiteIpc closes it. The
 *   loader's socket and pin root default to /run/liteipc/liteipc.sock and /sys/fs/bpf/liteipc;
 *   the environment variables LITEIPC_SOCKET and LITEIPC_PIN_ROOT override them (a private
 *   loader, as the system tests run). Functions without a context argument use this one.
 *
 * Services and the service manager
 *   Linux has no samgr of its own; liteipc-loader is the service manager. A C service registers
 *   under a name with LiteIpcRegisterService (or LiteIpcRegisterServiceEx for an access policy)
 *   and is served at once on its own worker threads; a client finds it with LiteIpcGetService,
 *   which also connects (and so learns at once whether the policy admits it). A SvcIdentity
 *   names a service by handle: SendRequest to it connects on first use and keeps the
 *   connection (per handle) until BinderRelease drops the last reference or the context closes.
 *   A handle whose service died or withdrew stays dead (LITEIPC_DEAD_OBJECT) until then: the
 *   loader never hands a handle out twice, and only a handle never handed out is LITEIPC_ENOENT.
 *
 * Handlers
 *   IpcMsgHandler(context, ipcMsg, data, arg) runs on a worker thread of the service. `data`
 *   reads the request; GetCode/GetFlag/GetToken/GetCalling* describe it (pid, uid and gid were
 *   stamped by the kernel when the client connected; the tid is the client's own claim).
 *   As in LiteIPC, a request lives until SendReply or FreeBuffer releases it, from any thread:
 *   a handler may hand ipcMsg to another thread, which reads it with IpcIoInitFromMsg and replies
 *   later (samgr's endpoint does). Meanwhile the caller waits and the request holds one of the
 *   service's workers (LiteIpcServiceOptions.workers). FreeBuffer without a reply fails the
 *   caller with LITEIPC_FAILED_REPLY. The handler's return value is ignored, as in LiteIPC.
 *
 * Errors
 *   LiteIPC's codes, plus three it lacks (LITEIPC_EPERM, LITEIPC_ETIMEDOUT, LITEIPC_EEXIST), so
 *   that `ret != LITEIPC_OK` keeps working and the cause stays visible. Every failure is logged
 *   (LITEIPC_LOG_LEVEL=info shows them) with the runtime's description.
 *
 * Differences from LiteIPC worth knowing
 *  - IpcContext is opaque; OpenLiteIpc's mmapSize is accepted and not used (0 means the default):
 *    each connection has its own pools (4 MiB by default).
 *  - StartLoop does not receive messages itself: services run on worker threads from
 *    registration. StartLoop's handler serves the services registered with a NULL handler, and
 *    StartLoop blocks the calling thread until LiteIpcStopLoop or CloseLiteIpc (so a LiteIPC
 *    main() that ends in StartLoop keeps serving).
 *  - AddServiceAccess is enforced (by the kernel, at connect) and is for the service's owner.
 *  - IpcIo capacity and limits are LiteIPC's (serializer.h); data buffers travel out of line
 *    through the sender's pool, so a 64 KiB buffer goes beside a 200-byte IpcIo.
 *  - Tokens: a SvcIdentity's token reaches the handler (GetToken; Call::token() in C++). C and
 *    C++ clients and services talk to each other: an IpcIo is a plain liteipc message, and the
 *    fds (IpcIoPushFd) and service references (IpcIoPushSvc) in it travel as in any message.
 *  - Death callbacks: at most MAX_DEATHCB_PER_SVC per service, as LiteIPC (more only after
 *    LiteIpcSetMaxDeathCallbacks), and registering on a peer that is already dead calls the
 *    handler at once. They run on one callback thread per
 *    process.
 *  - SvcIdentity.cookie is 64 bits (see serializer.h); SendRequest ignores it.
 */
#ifndef LITEIPC_LITEIPC_ADAPTER_H
#define LITEIPC_LITEIPC_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../export.h"
#include "serializer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MMAP_DEFAULT_SIZE 65536UL
#define MMAP_MAX_SIZE 262144UL
#define LITEIPC_DEFAULT_MAP_SIZE 0x10000
#define IPC_WAIT_FOREVER 0xFFFFFFFFu
#define IPC_TIMEOUT_MIN 10 /* ms */
/* LiteIPC's cap on death callbacks per service; liteipc has none (more may be registered). */
#define MAX_DEATHCB_PER_SVC 5
/* LiteIPC's "no timer" value (its callbacks' timers); kept for source compatibility. */
#define IPC_INVAILD_TIMER_ID (timer_t)-1

typedef enum {
    LITEIPC_FLAG_DEFAULT = 0, /* request and reply */
    LITEIPC_FLAG_ONEWAY,      /* request only: returns once queued */
} IpcFlag;

/* Modes of RegisterIpcCallback. Either way the callback is removed when its timeout passes. */
typedef enum {
    ONCE = 0,        /* the timeout counts from registration */
    RESET_AFTER_USE, /* every call to the callback starts the timeout again */
} IpcCbMode;

enum IpcErr {
    LITEIPC_FAILED_REPLY = -34, /* liteipc: the service freed the request without a reply */
    LITEIPC_DEAD_OBJECT = -32, /* the service died or withdrew: its pending calls and later requests */
    LITEIPC_EBUSY = -17,       /* liteipc: the loader is at its fd limit and refuses new sockets */
    LITEIPC_ENAMEPOLICY = -16, /* liteipc: the name policy gives this service name to other owners */
    LITEIPC_EIDENTITY = -15,   /* liteipc: the request did not come from the process it claims to be */
    LITEIPC_EQUOTA = -14,      /* liteipc: this uid holds its quota (liteipc status shows which) */
    LITEIPC_EEXIST = -13,      /* liteipc: the service name is taken */
    LITEIPC_ETIMEDOUT = -12,   /* liteipc: the call's deadline passed */
    LITEIPC_EPERM = -11,       /* liteipc: the service's policy refuses this process */
    LITEIPC_EINVAL = -10,      /* invalid argument */
    LITEIPC_EBADF,             /* no context, context closed, or liteipc-loader unreachable */
    LITEIPC_ENOMEM,            /* a pool or table is full */
    LITEIPC_ENOENT,            /* no such service, or a callback that timed out */
    LITEIPC_EINTNL,            /* internal error: the log says which */
    LITEIPC_OK = 0,
};

/* GetCode of a death notification. */
enum { DEATH_CODE = 0 };

/* Access policies of LiteIpcRegisterServiceEx (values of liteipc::Policy). */
typedef enum {
    LITEIPC_POLICY_SAME_UID = 0, /* the owner's uid (default) */
    LITEIPC_POLICY_ANYONE = 1,
    LITEIPC_POLICY_UID_LIST = 2,  /* uids added with LiteIpcAllowUid */
    LITEIPC_POLICY_UID_RANGE = 3, /* uidMin..uidMax */
    LITEIPC_POLICY_PIDS = 4,      /* only pids granted with AddServiceAccess */
} LiteIpcPolicy;

typedef struct IpcContext IpcContext;

typedef int32_t (*IpcMsgHandler)(const IpcContext* context, void* ipcMsg, IpcIo* data, void* arg);

/* The process's context (see above). NULL on failure; the log says why. */
LITEIPC_API IpcContext* OpenLiteIpc(size_t mmapSize);
LITEIPC_API void CloseLiteIpc(IpcContext* context);

/* Serves services registered with a NULL handler through `func`; blocks until LiteIpcStopLoop
 * or CloseLiteIpc. Returns LITEIPC_OK when stopped. */
LITEIPC_API int32_t StartLoop(const IpcContext* context, IpcMsgHandler func, void* arg);
/* Makes every StartLoop return, now and later. Async-signal-safe: call it from a SIGTERM handler. */
LITEIPC_API void LiteIpcStopLoop(const IpcContext* context);

/* A request to `sid`. LITEIPC_FLAG_DEFAULT waits for the reply: `reply` (may be NULL) reads it
 * and *buffer gets the reply's storage, valid until FreeBuffer(context, (void*)*buffer).
 * LITEIPC_FLAG_ONEWAY returns once the request is queued (buffer may be NULL). `data` (may be
 * NULL) is sealed and its data buffers released (IpcIoFreeDataBuff), as in LiteIPC.
 * Waits at most the context's default timeout (5 s); LiteIpcSendRequestTimeout takes one. */
LITEIPC_API int32_t SendRequest(const IpcContext* context, SvcIdentity sid, uint32_t code, IpcIo* data, IpcIo* reply,
                                IpcFlag flag, uintptr_t* buffer);
/* LiteIPC's older name for SendRequest. */
LITEIPC_API int32_t Transact(const IpcContext* context, SvcIdentity sid, uint32_t code, IpcIo* data, IpcIo* reply,
                             IpcFlag flag, uintptr_t* buffer);
/* SendRequest with its own timeout (IPC_WAIT_FOREVER: none). */
LITEIPC_API int32_t LiteIpcSendRequestTimeout(const IpcContext* context, SvcIdentity sid, uint32_t code, IpcIo* data,
                                              IpcIo* reply, IpcFlag flag, uintptr_t* buffer, uint32_t timeoutMs);
/* Replies to the request `ipcMsg` and releases it, from any thread, during or after its handler
 * (`reply` may be NULL: an empty reply). Runs reply's data buffer free functions. */
LITEIPC_API int32_t SendReply(const IpcContext* context, void* ipcMsg, IpcIo* reply);
/* Frees a reply buffer from SendRequest (LITEIPC_EINVAL if it is not one, or freed already), or
 * releases a request: one not replied to fails its caller with LITEIPC_FAILED_REPLY at once. */
LITEIPC_API int32_t FreeBuffer(const IpcContext* context, void* ptr);

LITEIPC_API int32_t GetCode(const void* ipcMsg, uint32_t* code);
LITEIPC_API int32_t GetFlag(const void* ipcMsg, uint32_t* flag);
LITEIPC_API int32_t GetToken(const void* ipcMsg, uint32_t* token);
LITEIPC_API pid_t GetCallingTid(const void* ipcMsg);
LITEIPC_API pid_t GetCallingPid(const void* ipcMsg);
LITEIPC_API pid_t GetCallingUid(const void* ipcMsg);
LITEIPC_API pid_t GetCallingGid(const void* ipcMsg);

/* Lets the process of `pid` (a process id, or any of its thread ids as samgr passes it) connect
 * to the local service `sid` whatever its policy. */
LITEIPC_API int32_t AddServiceAccess(SvcIdentity sid, pid_t pid);
/* Makes this process the service manager: SendRequest to handle 0, from any process, reaches
 * the StartLoop handler here (a service named "liteipc.context" that anyone may call). maxMsgSize
 * is not used. Once per system at a time (LITEIPC_EEXIST otherwise). */
LITEIPC_API int32_t SetSaManager(const IpcContext* context, size_t maxMsgSize);
/* A handle that reaches thread `tid`: the StartLoop handler of its process, which must have
 * called StartLoop (LITEIPC_ENOENT otherwise). */
LITEIPC_API int32_t GenServiceHandle(SvcIdentity* sid, pid_t tid);

/* An anonymous service of this process: *sid (handle and token) names it; send it to a peer
 * (IpcIoPushSvc) to be called back. timeoutMs >= IPC_TIMEOUT_MIN or IPC_WAIT_FOREVER. When the
 * timeout passes the callback is removed, and a request to it fails with LITEIPC_ENOENT. */
LITEIPC_API int32_t RegisterIpcCallback(IpcMsgHandler func, uint32_t mode, uint32_t timeoutMs, SvcIdentity* sid,
                                        void* arg);
LITEIPC_API int32_t UnregisterIpcCallback(SvcIdentity sid);

/* Calls `func` once, on the callback thread, when the process serving `sid` dies (at once if it
 * already has), as LiteIPC does: context NULL, GetToken(ipcMsg) the dead handle. *cbId counts
 * per handle from 0 (the lowest free one), as LiteIPC's; the one past MAX_DEATHCB_PER_SVC on a
 * handle is LITEIPC_EINTNL, as LiteIPC's. */
LITEIPC_API int32_t RegisterDeathCallback(const IpcContext* context, SvcIdentity sid, IpcMsgHandler func, void* arg,
                                          uint32_t* cbId);
LITEIPC_API int32_t UnregisterDeathCallback(SvcIdentity sid, uint32_t cbId);
/* liteipc's opt-in: allow `perService` death callbacks per handle in this process (0: no limit)
 * instead of LiteIPC's MAX_DEATHCB_PER_SVC. */
LITEIPC_API int32_t LiteIpcSetMaxDeathCallbacks(uint32_t perService);

/* Keeps the connection to `handle` open (a reference); BinderRelease drops one. */
LITEIPC_API int32_t BinderAcquire(const IpcContext* context, uint32_t handle);
LITEIPC_API int32_t BinderRelease(const IpcContext* context, uint32_t handle);

/* LiteIPC's older spellings. */
#define RegisteIpcCallback RegisterIpcCallback
#define UnRegisteIpcCallback UnregisterIpcCallback
#define RegisteDeathCallback RegisterDeathCallback
#define UnRegisteDeathCallback UnregisterDeathCallback

/* ---- liteipc: the service manager's part, which LiteIPC leaves to samgr ---- */

typedef struct {
    const char* name;   /* 1..255 printable bytes, no '/', '"' or backslash */
    uint32_t policy;    /* LiteIpcPolicy */
    uint32_t uidMin;    /* LITEIPC_POLICY_UID_RANGE */
    uint32_t uidMax;
    uint32_t workers;   /* threads serving it; 0: 2 */
    uint32_t mode;      /* LiteIpcServiceMode; 0: LITEIPC_SERVICE_DIRECT */
} LiteIpcServiceOptions;

/* How messages reach a service (values of liteipc::Mode). A mediated service's messages each pass
 * the kernel, which stamps the caller (GetCallingPid/Tid/Uid/Gid are then the kernel's word for
 * that very message) and re-checks the service's policy. */
typedef enum {
    LITEIPC_SERVICE_DIRECT = 0,
    LITEIPC_SERVICE_MEDIATED = 1,
} LiteIpcServiceMode;

/* Registers a service named `name` (policy: same uid) and serves it with `handler` (NULL: the
 * StartLoop handler) on its own worker threads. *out names it. */
LITEIPC_API int32_t LiteIpcRegisterService(const IpcContext* context, const char* name, IpcMsgHandler handler,
                                           void* arg, SvcIdentity* out);
LITEIPC_API int32_t LiteIpcRegisterServiceEx(const IpcContext* context, const LiteIpcServiceOptions* options,
                                             IpcMsgHandler handler, void* arg, SvcIdentity* out);
/* Unregisters a local service and stops its workers (not from its own handler). */
LITEIPC_API int32_t LiteIpcUnregisterService(const IpcContext* context, SvcIdentity sid);
/* For LITEIPC_POLICY_UID_LIST. */
LITEIPC_API int32_t LiteIpcAllowUid(SvcIdentity sid, uid_t uid);
/* Takes `uid` off the list again: a mediated service's kernel refuses that uid's next message. */
LITEIPC_API int32_t LiteIpcRevokeUid(SvcIdentity sid, uid_t uid);
/* Finds the service named `name` and connects to it: LITEIPC_ENOENT when there is none,
 * LITEIPC_EPERM when its policy refuses this process. */
LITEIPC_API int32_t LiteIpcGetService(const IpcContext* context, const char* name, SvcIdentity* out);

#ifdef __cplusplus
}
#endif

#endif /* LITEIPC_LITEIPC_ADAPTER_H */
