/*
 * The newer LiteIPC C API (OpenHarmony communication_ipc's ipc_skeleton.h), with upstream's
 * names and signatures, linked as liteipc::skeleton (pkg-config liteipc-skeleton). Included by
 * its bare name: #include "ipc_skeleton.h".
 *
 *   static int32_t OnRequest(uint32_t code, IpcIo* data, IpcIo* reply, MessageOption option) {
 *       int32_t n = 0;
 *       ReadInt32(data, &n);
 *       WriteInt32(reply, n + 1);
 *       return ERR_NONE;
 *   }
 *   IpcObjectStub stub = {.func = OnRequest, .args = NULL, .isRemote = false};
 *   SvcIdentity self = {.handle = MIN_BINDER_HANDLE, .token = 0, .cookie = (uintptr_t)&stub};
 *   WriteRemoteObject(&io, &self);   // hand it to a peer (samgr), which may call it from then on
 *
 * One wire with the older C API (liteipc_adapter.h) and the C++ API: a service written against
 * any of the three is called from the other two, with fds, service references and death
 * notifications. A local object is served by a service of this process ("liteipc.objects.<pid>",
 * or "liteipc.objects.<pid>.<contract>" for one that declared an interface with
 * LiteIpcSetObjectInterface), reachable only by processes it was sent to; its SvcIdentity token
 * picks the object.
 *
 * The context object (handle 0, upstream's samgr) is the process that called SetContextObject;
 * GetContextObject names it in every process. The environment variables LITEIPC_SOCKET and
 * LITEIPC_PIN_ROOT choose the liteipc-loader, as for OpenLiteIpc.
 * LITEIPC_MEDIATED=1 makes the services this API registers (the context object, the service of
 * a process's local objects) mediated: each message then passes the kernel, which stamps the
 * caller (GetCallingPid/Uid/Gid/Tid become the kernel's word for that message) and re-checks access.
 *
 * Differences from upstream worth knowing:
 *  - Handlers run on the process's own worker threads from the first WriteRemoteObject of a
 *    local object (SetMaxWorkThreadNum sets their number beforehand); JoinWorkThread blocks the
 *    calling thread for good, as upstream's does, without serving on it.
 *  - MessageOption.waitTime is in seconds (0: the default, MessageOptionInit's 4 s).
 *  - A handler's reply holds 8 KiB and 32 objects (upstream's MAX_IO_SIZE, MAX_OBJ_NUM).
 */
#ifndef LITEIPC_RPC_IPC_SKELETON_H
#define LITEIPC_RPC_IPC_SKELETON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#include "../export.h"
#include "serializer.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TF_OP_SYNC = 0x00,
    TF_OP_ASYNC = 0x01,
    TF_OP_STATUS_CODE = 0x08,
    TF_OP_ACCEPT_FDS = 0x10,
};

typedef struct {
    uint32_t flags;    /* TF_OP_SYNC or TF_OP_ASYNC */
    uint32_t waitTime; /* seconds a synchronous request waits for its reply; 0: the default */
    void* args;        /* in a handler: the IpcObjectStub's args */
} MessageOption;

typedef int32_t (*OnRemoteRequest)(uint32_t code, IpcIo* data, IpcIo* reply, MessageOption option);
typedef void (*OnRemoteDead)(void* args);

typedef struct {
    OnRemoteRequest func;
    void* args;
    bool isRemote;
} IpcObjectStub;

/* Workers serving this process's objects, for those started later (default 4). */
LITEIPC_API int32_t SetMaxWorkThreadNum(int32_t maxThreadNum);

/* Blocks the calling thread for good (workers serve; see above). */
LITEIPC_API void JoinWorkThread(void);

/* The caller of the request whose handler runs on this thread (kernel-verified); else this process. */
LITEIPC_API pid_t GetCallingPid(void);
LITEIPC_API pid_t GetCallingUid(void);

/* The context object (handle 0). */
LITEIPC_API const SvcIdentity* GetContextObject(void);
/* Makes the local object `target` the context object of the system (ERR_FAILED when another
 * process has made one). */
LITEIPC_API int32_t SetContextObject(SvcIdentity target);

/* A request to `target`. TF_OP_SYNC waits for the reply: `reply` (may be NULL) reads it and
 * *buffer holds it until FreeBuffer((void*)*buffer). TF_OP_ASYNC returns once it is queued. */
LITEIPC_API int32_t SendRequest(SvcIdentity target, uint32_t code, IpcIo* data, IpcIo* reply, MessageOption option,
                                uintptr_t* buffer);

LITEIPC_API int32_t FreeBuffer(void* ptr);

/* Calls deathFunc(args) once, on a callback thread, when the process serving `target` dies (at
 * once if it died after this process reached it). As upstream: at most 4 per target (the 5th is
 * ERR_INVALID_PARAM), and a handle this process was never given is ERR_INVALID_PARAM. */
LITEIPC_API int32_t AddDeathRecipient(SvcIdentity target, OnRemoteDead deathFunc, void* args, uint32_t* cbId);
/* ERR_INVALID_PARAM when cbId is not a recipient on `target`. */
LITEIPC_API int32_t RemoveDeathRecipient(SvcIdentity target, uint32_t cbId);

LITEIPC_API int32_t MessageOptionInit(MessageOption* option);

/* Drops this process's connection to `target` (a later SendRequest reconnects while the
 * reference is still granted). ERR_INVALID_PARAM for a local object or a handle not reached. */
LITEIPC_API int32_t ReleaseSvc(SvcIdentity target);

/* liteipc's opt-in: allow `perTarget` death recipients per target (0: no limit) instead of
 * upstream's 4. */
LITEIPC_API int32_t LiteIpcSetMaxDeathRecipients(uint32_t perTarget);

/* liteipc's additions, for the C that liteipc-idl generates (docs/IDL.md) and any C service that
 * a C++ client reaches by name. */

/* The interface a service serves, as liteipc-idl generates it (liteipc::ServiceInterface). */
typedef struct {
    const char* name;  /* "OHOS.IFoo" */
    uint64_t hash;     /* this version's: FOO_INTERFACE_HASH */
    uint64_t contract; /* what clients name at connect: FOO_CONTRACT_HASH */
    uint32_t version;  /* FOO_VERSION; 0: not frozen */
} LiteIpcInterface;

/* Serves the local object `object` (handle MIN_BINDER_HANDLE, cookie its IpcObjectStub) as the
 * service `name` too: a liteipc::Connection opens it by name, a C client with LiteIpcGetService.
 * `interface` (NULL: none) is what `liteipc list` shows and the kernel holds clients to.
 * Callers of the owner's uid may connect (liteipc::ServiceOptions' default). ERR_INVALID_PARAM for
 * a name this process serves already; IPC_INVOKER_IOCTL_FAILED when the loader refuses the name. */
LITEIPC_API int32_t LiteIpcAddService(const char* name, const SvcIdentity* object, const LiteIpcInterface* interface);
/* The service `name` as a remote object to SendRequest to (kept until ReleaseSvc). `contract`
 * (0: any) is the interface contract this client speaks: the kernel refuses a service that declared
 * another, and this returns -19 (liteipc::Errc::interface_mismatch negated). IPC_INVOKER_IOCTL_FAILED
 * when there is no such service or its policy refuses this process. */
LITEIPC_API int32_t LiteIpcGetService(const char* name, uint64_t contract, SvcIdentity* svc);
/* Declares the interface the local object `object` serves (generated stubs do, in FooStubInit):
 * a reference to it then reaches its receivers through a service of this process that declares
 * that interface, so the kernel refuses a receiver's proxy of another (LiteIpcConnectRemote), as
 * it refuses a client connecting by name. ERR_INVALID_PARAM for what is not a local object. */
LITEIPC_API int32_t LiteIpcSetObjectInterface(const SvcIdentity* object, const LiteIpcInterface* interface);
/* Connects to the service behind `remote` (a received reference), naming the interface contract
 * this process speaks to it (0: any): -19 (liteipc::Errc::interface_mismatch negated) when the
 * kernel refuses a service that declared another. Generated proxies do, in FooProxyFromRemote. */
LITEIPC_API int32_t LiteIpcConnectRemote(const SvcIdentity* remote, uint64_t contract);
/* In a handler, for a synchronous request: the reply carries only `status` (negative: a
 * liteipc::Errc negated, as a C++ service's failed call), not what the handler wrote. */
LITEIPC_API int32_t LiteIpcSetReplyStatus(int32_t status);

#ifdef __cplusplus
}
#endif

#endif /* LITEIPC_RPC_IPC_SKELETON_H */
