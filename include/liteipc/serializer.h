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
 * Differences from LiteIPC worth knowing:
 *  - SvcIdentity.cookie is 64 bits wide.
 *  - A message is produced with IpcIoGetMessage() and read with IpcIoInitFromBuffer(); the
 *    runtime does this for SendRequest/SendReply.
 *  - Pointers returned by pops point into the received message (or the peer's pool, mapped
 *    read-only): never write through them, and do not use them after the message is freed.
 *    IpcIoPopSvc and IpcIoPopDataBuff return a pointer to storage inside the IpcIo that the
 *    next pop of the same kind overwrites.
 *  - IpcIoPopFd transfers ownership: the caller must close the returned fd.
 *  - IpcIoPushDataBuff copies the bytes at push time (into the sender's pool when the runtime
 *    attached one, otherwise into the message); the free callback of
 *    IpcIoPushDataBuffWithFree still runs only in IpcIoFreeDataBuff, as in LiteIPC.
 */
#ifndef LITEIPC_SERIALIZER_H
#define LITEIPC_SERIALIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

typedef void (*IpcIoPtrFree)(void* ptr);

#define MIN_BINDER_HANDLE 0xffffffffu

/* IpcIo.flag bits, as in LiteIPC. */
#define IPC_IO_INITIALIZED 0x01u
#define IPC_IO_OVERFLOW 0x02u

/* Room for the C++ Writer or Reader that does the work (checked by a static_assert). */
#define LITEIPC_IPCIO_CORE_SIZE 512

typedef struct {
    uint32_t flag;
    uint32_t mode; /* 0: uninitialised, 1: writing, 2: reading */
    SvcIdentity poppedSvc;
    BuffPtr poppedBuff;
    union {
        uint64_t align;
        unsigned char bytes[LITEIPC_IPCIO_CORE_SIZE];
    } core;
} IpcIo;

/* Writing: `data` is the caller's working buffer (header, data and offsets table all live in
 * it); `maxobjects` caps the special objects (at most 32). */
void IpcIoInit(IpcIo* io, void* data, size_t maxdata, size_t maxobjects);
/* Reading a received message of `size` bytes. The message must stay mapped while io is used. */
void IpcIoInitFromBuffer(IpcIo* io, const void* msg, size_t size);
/* Seals a written message and returns it (NULL when io failed); *size gets its length. */
const void* IpcIoGetMessage(IpcIo* io, size_t* size);
bool IpcIoAvailable(IpcIo* io);

void IpcIoPushChar(IpcIo* io, char c);
void IpcIoPushCharUnaligned(IpcIo* io, char c);
void IpcIoPushBool(IpcIo* io, bool b);
void IpcIoPushBoolUnaligned(IpcIo* io, bool b);
void IpcIoPushIntptr(IpcIo* io, intptr_t n);
void IpcIoPushUintptr(IpcIo* io, uintptr_t n);
void IpcIoPushInt8(IpcIo* io, int8_t n);
void IpcIoPushInt8Unaligned(IpcIo* io, int8_t n);
void IpcIoPushUint8(IpcIo* io, uint8_t n);
void IpcIoPushUint8Unaligned(IpcIo* io, uint8_t n);
void IpcIoPushInt16(IpcIo* io, int16_t n);
void IpcIoPushInt16Unaligned(IpcIo* io, int16_t n);
void IpcIoPushUint16(IpcIo* io, uint16_t n);
void IpcIoPushUint16Unaligned(IpcIo* io, uint16_t n);
void IpcIoPushInt32(IpcIo* io, int32_t n);
void IpcIoPushUint32(IpcIo* io, uint32_t n);
void IpcIoPushInt64(IpcIo* io, int64_t n);
void IpcIoPushUint64(IpcIo* io, uint64_t n);
void IpcIoPushFloat(IpcIo* io, float n);
void IpcIoPushDouble(IpcIo* io, double n);
void IpcIoPushString(IpcIo* io, const char* cstr);
void IpcIoPushFlatObj(IpcIo* io, const void* obj, uint32_t size);
void IpcIoPushSvc(IpcIo* io, const SvcIdentity* svc);
void IpcIoPushFd(IpcIo* io, uint32_t fd);
void IpcIoPushDataBuff(IpcIo* io, const BuffPtr* dataBuff);
void IpcIoPushDataBuffWithFree(IpcIo* io, const BuffPtr* dataBuff, IpcIoPtrFree ipcIoFree);
/* Runs the free callbacks registered by IpcIoPushDataBuffWithFree (once each). */
void IpcIoFreeDataBuff(IpcIo* io);

char IpcIoPopChar(IpcIo* io);
char IpcIoPopCharUnaligned(IpcIo* io);
bool IpcIoPopBool(IpcIo* io);
bool IpcIoPopBoolUnaligned(IpcIo* io);
intptr_t IpcIoPopIntptr(IpcIo* io);
uintptr_t IpcIoPopUintptr(IpcIo* io);
int8_t IpcIoPopInt8(IpcIo* io);
int8_t IpcIoPopInt8Unaligned(IpcIo* io);
uint8_t IpcIoPopUint8(IpcIo* io);
uint8_t IpcIoPopUint8Unaligned(IpcIo* io);
int16_t IpcIoPopInt16(IpcIo* io);
int16_t IpcIoPopInt16Unaligned(IpcIo* io);
uint16_t IpcIoPopUint16(IpcIo* io);
uint16_t IpcIoPopUint16Unaligned(IpcIo* io);
int32_t IpcIoPopInt32(IpcIo* io);
uint32_t IpcIoPopUint32(IpcIo* io);
int64_t IpcIoPopInt64(IpcIo* io);
uint64_t IpcIoPopUint64(IpcIo* io);
float IpcIoPopFloat(IpcIo* io);
double IpcIoPopDouble(IpcIo* io);
/* NUL-terminated; *sz (when not NULL) gets the length without the terminator. */
uint8_t* IpcIoPopString(IpcIo* io, size_t* sz);
void* IpcIoPopFlatObj(IpcIo* io, uint32_t* size);
SvcIdentity* IpcIoPopSvc(IpcIo* io);
/* Returns -1 on error; otherwise the caller owns the fd. */
int32_t IpcIoPopFd(IpcIo* io);
BuffPtr* IpcIoPopDataBuff(IpcIo* io);

#ifdef __cplusplus
}
#endif

#endif /* LITEIPC_SERIALIZER_H */
