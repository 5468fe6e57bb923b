/*
 * LiteIPC-compatible marshalling: the IpcIo C API.
 *
 * Names and semantics follow OpenHarmony LiteIPC's serializer.h. The implementation is the
 * C++ core in liteipc/parcel.h (one wire format, documented there); this face keeps C callers
 * source compatible. This header includes only C headers and compiles as C11 and C++.
 *
 * Errors are sticky as in LiteIPC: after the first failure IpcIoAvailable() returns false,
 * every later push is ignored and every later pop returns 0 / NULL / -1.
 *
 * Capacity: LiteIPC's rules, so that an IpcIo that fits LiteIPC fits here and one that overflows
 * LiteIPC overflows here at the same push:
 *  - IpcIoInit(io, buffer, size, maxobjects): size <= IPC_IO_DATA_MAX (8 KiB), maxobjects <= 32;
 *    maxobjects * sizeof(size_t) bytes of the buffer are kept for the offsets table and the rest
 *    holds data (a 64 B buffer with no objects holds 16 int32).
 *  - Values take their size rounded up to 4 (the *Unaligned ones their exact size), a string
 *    4 + its length + 1 rounded up to 4, a flat object 4 + its size rounded up to 4, and every
 *    special object (fd, service, data buffer) 24 bytes.
 *  - Strings shorter than IPC_IO_DATA_MAX, flat objects up to IPC_IO_DATA_MAX, data buffers up
 *    to LITEIPC_DATA_BUFF_MAX (64 KiB).
 * liteipc is more generous only where the caller asks: LiteIpcIoInitLarge takes a buffer up to
 * LITEIPC_IO_LARGE_DATA_MAX and lets its data buffers grow to the size of the sender's pool.
 *
 * Data buffers (IpcIoPushDataBuff) are out of line, as in LiteIPC: the IpcIo keeps only a
 * 24-byte reference; SendRequest / SendReply copy the bytes once into the sender's pool and the
 * receiver reads them in place there (IpcIoPopDataBuff points into that read-only mapping). The
 * free function of IpcIoPushDataBuffWithFree runs exactly once: in IpcIoFreeDataBuff, which
 * SendRequest and SendReply call whatever happens to the send.
 *
 * Differences from LiteIPC worth knowing:
 *  - SvcIdentity.cookie is 64 bits wide.
 *  - A message is produced with IpcIoGetMessage() and read with IpcIoInitFromBuffer(); the
 *    runtime does this for SendRequest/SendReply (IpcIoInitFromMsg reopens a received request).
 *  - Pointers returned by pops point into the received message (or the peer's pool, mapped
 *    read-only): never write through them, and do not use them after the message is freed.
 *    IpcIoPopSvc and IpcIoPopDataBuff return a pointer to storage inside the IpcIo that the
 *    next pop of the same kind overwrites.
 *  - IpcIoPopFd transfers ownership: the caller must close the returned fd.
 *  - An IpcIo refers to itself (as LiteIPC's free list does): do not copy one and use the copy.
 */
#ifndef LITEIPC_SERIALIZER_H
#define LITEIPC_SERIALIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../export.h"
#include "../ipcio_layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Special object types, recorded in the message's offsets table. Values match LiteIPC. */
typedef enum { OBJ_FD = 0, OBJ_PTR = 1, OBJ_SVC = 2 } ObjType;

typedef struct {
    uint32_t buffSz;
    void* buff;
} BuffPtr;

typedef struct {
    uint32_t handle;
    uint32_t token;
    uint64_t cookie;
} SvcIdentity;

/* A special object as LiteIPC describes it (its driver's view; the wire here is liteipc/parcel.h). */
typedef union {
    uint32_t fd;
    BuffPtr ptr;
    SvcIdentity svc;
} ObjContent;

typedef struct {
    ObjType type;
    ObjContent content;
} SpecialObj;

typedef void (*IpcIoPtrFree)(void* ptr);

/* LiteIPC's limits (see the capacity rules above). */
#define IPC_IO_DATA_MAX 8192UL
#define LITEIPC_DATA_BUFF_MAX 65536UL
/* liteipc's larger IpcIo (LiteIpcIoInitLarge): what one request or reply message holds. */
#define LITEIPC_IO_LARGE_DATA_MAX 16000UL

#define MIN_BINDER_HANDLE 0xffffffffu

/* The same type as the newer API's IpcIo (liteipc/ipcio_layout.h). */
typedef LiteIpcIo IpcIo;

/* Writing, with LiteIPC's limits: `data` is the caller's working buffer (data and offsets
 * table live in it, the message header does not); `maxobjects` caps the special objects
 * (at most 32); maxdata at most IPC_IO_DATA_MAX. */
LITEIPC_API void IpcIoInit(IpcIo* io, void* data, size_t maxdata, size_t maxobjects);
/* liteipc: IpcIoInit with maxdata up to LITEIPC_IO_LARGE_DATA_MAX, strings and flat objects up
 * to what the buffer holds and data buffers up to the sender's pool (64 MiB at most). */
LITEIPC_API void LiteIpcIoInitLarge(IpcIo* io, void* data, size_t maxdata, size_t maxobjects);
/* Reading the request `msg` (a handler's ipcMsg) again, from any thread, until it is answered
 * or freed (SendReply, FreeBuffer). */
LITEIPC_API void IpcIoInitFromMsg(IpcIo* io, const void* msg);
/* Reading a received message of `size` bytes. The message must stay mapped while io is used. */
LITEIPC_API void IpcIoInitFromBuffer(IpcIo* io, const void* msg, size_t size);
/* Seals a written message into this thread's staging area and returns it (NULL when io
 * failed), valid until the next IpcIoGetMessage on the thread; *size gets its length. Its data
 * buffers are copied beside it: IpcIoInitFromBuffer on this thread reads them. */
LITEIPC_API const void* IpcIoGetMessage(IpcIo* io, size_t* size);
LITEIPC_API bool IpcIoAvailable(IpcIo* io);

LITEIPC_API void IpcIoPushChar(IpcIo* io, char c);
LITEIPC_API void IpcIoPushCharUnaligned(IpcIo* io, char c);
LITEIPC_API void IpcIoPushBool(IpcIo* io, bool b);
LITEIPC_API void IpcIoPushBoolUnaligned(IpcIo* io, bool b);
LITEIPC_API void IpcIoPushIntptr(IpcIo* io, intptr_t n);
LITEIPC_API void IpcIoPushUintptr(IpcIo* io, uintptr_t n);
LITEIPC_API void IpcIoPushInt8(IpcIo* io, int8_t n);
LITEIPC_API void IpcIoPushInt8Unaligned(IpcIo* io, int8_t n);
LITEIPC_API void IpcIoPushUint8(IpcIo* io, uint8_t n);
LITEIPC_API void IpcIoPushUint8Unaligned(IpcIo* io, uint8_t n);
LITEIPC_API void IpcIoPushInt16(IpcIo* io, int16_t n);
LITEIPC_API void IpcIoPushInt16Unaligned(IpcIo* io, int16_t n);
LITEIPC_API void IpcIoPushUint16(IpcIo* io, uint16_t n);
LITEIPC_API void IpcIoPushUint16Unaligned(IpcIo* io, uint16_t n);
LITEIPC_API void IpcIoPushInt32(IpcIo* io, int32_t n);
LITEIPC_API void IpcIoPushUint32(IpcIo* io, uint32_t n);
LITEIPC_API void IpcIoPushInt64(IpcIo* io, int64_t n);
LITEIPC_API void IpcIoPushUint64(IpcIo* io, uint64_t n);
LITEIPC_API void IpcIoPushFloat(IpcIo* io, float n);
LITEIPC_API void IpcIoPushDouble(IpcIo* io, double n);
LITEIPC_API void IpcIoPushString(IpcIo* io, const char* cstr);
LITEIPC_API void IpcIoPushFlatObj(IpcIo* io, const void* obj, uint32_t size);
LITEIPC_API void IpcIoPushSvc(IpcIo* io, const SvcIdentity* svc);
LITEIPC_API void IpcIoPushFd(IpcIo* io, uint32_t fd);
LITEIPC_API void IpcIoPushDataBuff(IpcIo* io, const BuffPtr* dataBuff);
LITEIPC_API void IpcIoPushDataBuffWithFree(IpcIo* io, const BuffPtr* dataBuff, IpcIoPtrFree ipcIoFree);
/* Runs the free callbacks registered by IpcIoPushDataBuffWithFree (once each). */
LITEIPC_API void IpcIoFreeDataBuff(IpcIo* io);

LITEIPC_API char IpcIoPopChar(IpcIo* io);
LITEIPC_API char IpcIoPopCharUnaligned(IpcIo* io);
LITEIPC_API bool IpcIoPopBool(IpcIo* io);
LITEIPC_API bool IpcIoPopBoolUnaligned(IpcIo* io);
LITEIPC_API intptr_t IpcIoPopIntptr(IpcIo* io);
LITEIPC_API uintptr_t IpcIoPopUintptr(IpcIo* io);
LITEIPC_API int8_t IpcIoPopInt8(IpcIo* io);
LITEIPC_API int8_t IpcIoPopInt8Unaligned(IpcIo* io);
LITEIPC_API uint8_t IpcIoPopUint8(IpcIo* io);
LITEIPC_API uint8_t IpcIoPopUint8Unaligned(IpcIo* io);
LITEIPC_API int16_t IpcIoPopInt16(IpcIo* io);
LITEIPC_API int16_t IpcIoPopInt16Unaligned(IpcIo* io);
LITEIPC_API uint16_t IpcIoPopUint16(IpcIo* io);
LITEIPC_API uint16_t IpcIoPopUint16Unaligned(IpcIo* io);
LITEIPC_API int32_t IpcIoPopInt32(IpcIo* io);
LITEIPC_API uint32_t IpcIoPopUint32(IpcIo* io);
LITEIPC_API int64_t IpcIoPopInt64(IpcIo* io);
LITEIPC_API uint64_t IpcIoPopUint64(IpcIo* io);
LITEIPC_API float IpcIoPopFloat(IpcIo* io);
LITEIPC_API double IpcIoPopDouble(IpcIo* io);
/* NUL-terminated; *sz (when not NULL) gets the length without the terminator. */
LITEIPC_API uint8_t* IpcIoPopString(IpcIo* io, size_t* sz);
LITEIPC_API void* IpcIoPopFlatObj(IpcIo* io, uint32_t* size);
LITEIPC_API SvcIdentity* IpcIoPopSvc(IpcIo* io);
/* Returns -1 on error; otherwise the caller owns the fd. */
LITEIPC_API int32_t IpcIoPopFd(IpcIo* io);
LITEIPC_API BuffPtr* IpcIoPopDataBuff(IpcIo* io);

#ifdef __cplusplus
}
#endif

#endif /* LITEIPC_SERIALIZER_H */
