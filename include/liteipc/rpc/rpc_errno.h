/*
 * Error codes of the newer LiteIPC C API (OpenHarmony communication_ipc's rpc_errno.h), with
 * upstream's names and values. Included by its bare name with liteipc-skeleton's flags.
 */
#ifndef LITEIPC_RPC_ERRNO_H
#define LITEIPC_RPC_ERRNO_H

enum IpcRpcErrNo {
    ERR_NONE = 0,
    ERR_FAILED = -1,                   /* the call failed; the log says why */
    ERR_INVALID_PARAM = -2,
    ERR_IPC_SKELETON_NOT_INIT = -3,    /* liteipc-loader unreachable */
    ERR_THREAD_INVOKER_NOT_INIT = -4,
    ERR_NOT_RPC = -16,
    ERR_DEAD_OBJECT = -32,             /* the peer process died */
    IPC_INVOKER_INVALID_DATA = -33,    /* an IpcIo that is not intact, or too large */
    IPC_INVOKER_FAILED_REPLY = -34,    /* the service dropped the request without a reply */
    IPC_INVOKER_UNKNOWN_CODE = -35,
    IPC_INVOKER_IOCTL_FAILED = -36,    /* the transport refused (no such handle, no access, timeout) */
};

#endif /* LITEIPC_RPC_ERRNO_H */
