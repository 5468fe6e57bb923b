/*
 * What the C that liteipc-idl generates (docs/IDL.md) builds on, over the newer LiteIPC C API:
 * the status codes a generated function returns beside rpc_errno.h's, and the reads and frees
 * the generated proxies and stubs share. Included by its bare name with liteipc-skeleton's flags.
 *
 * The wire is the one of include/liteipc/idl.h, so a C proxy calls a C++ stub and a C++ proxy
 * a C stub. Values a generated function hands back (strings, arrays, maps, byte arrays) are the
 * receiver's, allocated with malloc: free them with free(), string arrays with
 * LiteIpcIdlFreeStrings.
 */
#ifndef LITEIPC_RPC_LITEIPC_IDL_H
#define LITEIPC_RPC_LITEIPC_IDL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_skeleton.h"
#include "rpc_errno.h"
#include "serializer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A method's failure crosses as a negated liteipc::Errc (liteipc/error.h), in C as in C++. */
#define LITEIPC_IDL_ERR_INVALID_ARGUMENT (-1)
#define LITEIPC_IDL_ERR_NO_MEMORY (-7)
#define LITEIPC_IDL_ERR_MALFORMED (-8)       /* a request or reply that does not read */
#define LITEIPC_IDL_ERR_UNKNOWN_METHOD (-17) /* the service's version has no such method */
#define LITEIPC_IDL_ERR_INTERFACE_MISMATCH (-19) /* the kernel refused: the service serves another interface */

/* The code a stub answers with its canonical IDL and hash (liteipc introspect). */
#define LITEIPC_IDL_INTROSPECT_CODE 0x5F4E5446u

/* Reads a count no larger than the bytes and objects left: a hostile count cannot make the
 * receiver allocate more than the message holds. */
static inline bool LiteIpcIdlReadCount(IpcIo* io, uint32_t* count) {
    return ReadUint32(io, count) && *count <= io->bufferLeft / 4 + io->offsetsLeft;
}

/* A string, copied out of the message (malloc). */
static inline bool LiteIpcIdlReadString(IpcIo* io, char** value) {
    size_t length = 0;
    const char* text = (const char*)ReadString(io, &length);
    *value = NULL;
    if (text == NULL || (*value = (char*)malloc(length + 1)) == NULL) return false;
    memcpy(*value, text, length + 1);
    return true;
}

/* A data buffer (byte[]), copied out of the message (malloc; an empty one is a 1-byte block). */
static inline bool LiteIpcIdlReadBytes(IpcIo* io, uint8_t** value, uint32_t* length) {
    size_t size = 0;
    const uint8_t* bytes = LiteIpcReadDataBuffer(io, &size);
    *value = NULL;
    *length = 0;
    if ((bytes == NULL && size != 0) || (io->flag & IPC_IO_OVERFLOW) != 0) return false;
    if ((*value = (uint8_t*)malloc(size != 0 ? size : 1)) == NULL) return false;
    if (size != 0) memcpy(*value, bytes, size);
    *length = (uint32_t)size;
    return true;
}

/* A data buffer (byte[]) read in place: valid while the request is. */
static inline bool LiteIpcIdlReadBytesInPlace(IpcIo* io, const uint8_t** value, uint32_t* length) {
    size_t size = 0;
    *value = LiteIpcReadDataBuffer(io, &size);
    *length = (uint32_t)size;
    return (io->flag & IPC_IO_OVERFLOW) == 0;
}

/* An array of `count` items of `size` bytes, zeroed (never NULL on success, even for 0 items). */
static inline bool LiteIpcIdlAllocate(void* array, uint32_t count, size_t size) {
    *(void**)array = calloc(count != 0 ? count : 1, size);
    return *(void**)array != NULL;
}

/* Frees an array of strings and each string in it. */
static inline void LiteIpcIdlFreeStrings(char** strings, uint32_t count) {
    if (strings == NULL) return;
    for (uint32_t i = 0; i < count; ++i) free(strings[i]);
    free(strings);
}

/* A stub's answer to a request that does not read, or a reply that cannot be written: logged,
 * and the reply's status says it. */
static inline int32_t LiteIpcIdlFail(int32_t status, const char* method, const char* why) {
    fprintf(stderr, "liteipc: %s: %s\n", method, why);
    LiteIpcSetReplyStatus(status);
    return status;
}

#ifdef __cplusplus
}
#endif

#endif /* LITEIPC_RPC_LITEIPC_IDL_H */
