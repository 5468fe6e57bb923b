/*
 * Marshalling of the newer LiteIPC C API (OpenHarmony communication_ipc's serializer.h): the
 * Write* / Read* calls, with upstream's names and signatures. Included by its bare name with
 * liteipc-skeleton's flags (pkg-config liteipc-skeleton, CMake liteipc::skeleton); it cannot
 * share a translation unit with the older API's serializer.h (SvcIdentity differs).
 *
 * One wire with the older API and the C++ Parcel (liteipc/parcel.h): the same IpcIo type
 * (liteipc/ipcio_layout.h), so WriteInt32 here and IpcIoPopInt32 there, or Writer::write_int32
 * and ReadInt32, pair up. Capacity and limits are LiteIPC's (see lite/serializer.h): IpcIoInit
 * takes at most 8 KiB and 32 objects; strings, buffers and raw data are refused from 8 KiB on.
 *
 * Reads return false / NULL / 0 on error and mark the IpcIo failed. Pointers returned by reads
 * point into the received message: do not write through them or free them, except those of
 * ReadBoolVector and ReadInt16Vector, which the caller frees (free()), as upstream.
 * ReadFileDescriptor gives the caller the fd (close it).
 */
#ifndef LITEIPC_RPC_SERIALIZER_H
#define LITEIPC_RPC_SERIALIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../export.h"
#include "../ipcio_layout.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef LiteIpcIo IpcIo;

/* A service: a remote one by handle (token: what its handler sees), or a local object with
 * handle MIN_BINDER_HANDLE and cookie pointing to its IpcObjectStub (ipc_skeleton.h). */
typedef struct {
    int32_t handle;
    uintptr_t token;
    uintptr_t cookie;
} SvcIdentity;

typedef enum {
    SERVICE_TYPE_ANONYMOUS,
    SERVICE_TYPE_NORMAL
} ServiceType;

#define MIN_BINDER_HANDLE (-1)
#define IPC_INVALID_HANDLE (-1) /* ReadRemoteObject's handle when it fails */
#define MAX_IO_SIZE 8192UL      /* bytes an IpcIo holds (IpcIoInit refuses more) */
#define MAX_OBJ_NUM 32UL        /* objects an IpcIo holds */

LITEIPC_API void IpcIoInit(IpcIo* io, void* buffer, size_t bufferSize, size_t maxobjects);
/* Appends what was written to `src` to `dst` (both writing). liteipc appends values, strings
 * and buffers; an src holding objects (fds, references) is refused: their grants and fds are
 * taken when each is written. */
LITEIPC_API bool IpcIoAppend(IpcIo* dst, IpcIo* src);

/* A service reference: the receiver may call it (a capability); a local object is served by
 * this process's workers from then on. */
LITEIPC_API bool WriteRemoteObject(IpcIo* io, const SvcIdentity* svc);
/* A file descriptor: the receiver gets its own (ReadFileDescriptor). */
LITEIPC_API bool WriteFileDescriptor(IpcIo* io, uint32_t fd);

LITEIPC_API bool ReadRemoteObject(IpcIo* io, SvcIdentity* svc);
LITEIPC_API int32_t ReadFileDescriptor(IpcIo* io);

LITEIPC_API bool WriteBool(IpcIo* io, bool value);
LITEIPC_API bool WriteInt8(IpcIo* io, int8_t value);
LITEIPC_API bool WriteInt16(IpcIo* io, int16_t value);
LITEIPC_API bool WriteInt32(IpcIo* io, int32_t value);
LITEIPC_API bool WriteInt64(IpcIo* io, int64_t value);
LITEIPC_API bool WriteUint8(IpcIo* io, uint8_t value);
LITEIPC_API bool WriteUint16(IpcIo* io, uint16_t value);
LITEIPC_API bool WriteUint32(IpcIo* io, uint32_t value);
LITEIPC_API bool WriteUint64(IpcIo* io, uint64_t value);
LITEIPC_API bool WriteBoolUnaligned(IpcIo* io, bool value);
LITEIPC_API bool WriteInt8Unaligned(IpcIo* io, int8_t value);
LITEIPC_API bool WriteInt16Unaligned(IpcIo* io, int16_t value);
LITEIPC_API bool WriteUint8Unaligned(IpcIo* io, uint8_t value);
LITEIPC_API bool WriteUint16Unaligned(IpcIo* io, uint16_t value);
LITEIPC_API bool WriteFloat(IpcIo* io, float value);
LITEIPC_API bool WriteDouble(IpcIo* io, double value);
LITEIPC_API bool WritePointer(IpcIo* io, uintptr_t value);
LITEIPC_API bool WriteString(IpcIo* io, const char* value);

LITEIPC_API bool ReadBool(IpcIo* io, bool* value);
LITEIPC_API bool ReadInt8(IpcIo* io, int8_t* value);
LITEIPC_API bool ReadInt16(IpcIo* io, int16_t* value);
LITEIPC_API bool ReadInt32(IpcIo* io, int32_t* value);
LITEIPC_API bool ReadInt64(IpcIo* io, int64_t* value);
LITEIPC_API bool ReadUint8(IpcIo* io, uint8_t* value);
LITEIPC_API bool ReadUint16(IpcIo* io, uint16_t* value);
LITEIPC_API bool ReadUint32(IpcIo* io, uint32_t* value);
LITEIPC_API bool ReadUint64(IpcIo* io, uint64_t* value);
LITEIPC_API bool ReadFloat(IpcIo* io, float* value);
LITEIPC_API bool ReadDouble(IpcIo* io, double* value);
LITEIPC_API uintptr_t ReadPointer(IpcIo* io);
LITEIPC_API bool ReadBoolUnaligned(IpcIo* io, bool* value);
LITEIPC_API bool ReadInt8Unaligned(IpcIo* io, int8_t* value);
LITEIPC_API bool ReadInt16Unaligned(IpcIo* io, int16_t* value);
LITEIPC_API bool ReadUInt8Unaligned(IpcIo* io, uint8_t* value);
LITEIPC_API bool ReadUInt16Unaligned(IpcIo* io, uint16_t* value);
LITEIPC_API uint8_t* ReadString(IpcIo* io, size_t* len);

LITEIPC_API bool WriteString16(IpcIo* io, const uint16_t* value, size_t len);
LITEIPC_API bool WriteBuffer(IpcIo* io, const void* data, size_t size);
LITEIPC_API bool WriteInterfaceToken(IpcIo* io, const uint16_t* name, size_t len);
LITEIPC_API bool WriteRawData(IpcIo* io, const void* data, size_t size);
LITEIPC_API bool WriteBoolVector(IpcIo* io, const bool* val, size_t size);
LITEIPC_API bool WriteInt8Vector(IpcIo* io, const int8_t* val, size_t size);
LITEIPC_API bool WriteInt16Vector(IpcIo* io, const int16_t* val, size_t size);
LITEIPC_API bool WriteInt32Vector(IpcIo* io, const int32_t* val, size_t size);
LITEIPC_API bool WriteInt64Vector(IpcIo* io, const int64_t* val, size_t size);
LITEIPC_API bool WriteUInt8Vector(IpcIo* io, const uint8_t* val, size_t size);
LITEIPC_API bool WriteUInt16Vector(IpcIo* io, const uint16_t* val, size_t size);
LITEIPC_API bool WriteUInt32Vector(IpcIo* io, const uint32_t* val, size_t size);
LITEIPC_API bool WriteUInt64Vector(IpcIo* io, const uint64_t* val, size_t size);
LITEIPC_API bool WriteFloatVector(IpcIo* io, const float* val, size_t size);
LITEIPC_API bool WriteDoubleVector(IpcIo* io, const double* val, size_t size);

/* liteipc's addition: a data buffer (the older API's IpcIoPushDataBuff, the C++ Writer's
 * write_buffer), of 0 to 64 KiB. Above 256 bytes only a reference is kept: the bytes go into the
 * sender's pool when the IpcIo is sent (keep them until then; `release`, if not NULL, is called on
 * `data` once they are) and the receiver reads them in place. */
LITEIPC_API bool LiteIpcWriteDataBuffer(IpcIo* io, const void* data, size_t size, void (*release)(void* data));
/* The next data buffer: its bytes, in the received message, and *size; NULL on error (and for an
 * empty buffer, with *size 0 and the IpcIo intact). */
LITEIPC_API const uint8_t* LiteIpcReadDataBuffer(IpcIo* io, size_t* size);

LITEIPC_API uint16_t* ReadString16(IpcIo* io, size_t* size);
LITEIPC_API uint16_t* ReadInterfaceToken(IpcIo* io, size_t* size);
LITEIPC_API const uint8_t* ReadBuffer(IpcIo* io, size_t size);
LITEIPC_API void* ReadRawData(IpcIo* io, size_t size);
LITEIPC_API bool* ReadBoolVector(IpcIo* io, size_t* size);    /* the caller frees it */
LITEIPC_API int8_t* ReadInt8Vector(IpcIo* io, size_t* size);
LITEIPC_API int16_t* ReadInt16Vector(IpcIo* io, size_t* size); /* the caller frees it */
LITEIPC_API int32_t* ReadInt32Vector(IpcIo* io, size_t* size);
LITEIPC_API int64_t* ReadInt64Vector(IpcIo* io, size_t* size);
LITEIPC_API uint8_t* ReadUInt8Vector(IpcIo* io, size_t* size);
LITEIPC_API uint16_t* ReadUInt16Vector(IpcIo* io, size_t* size);
LITEIPC_API uint32_t* ReadUInt32Vector(IpcIo* io, size_t* size);
LITEIPC_API uint64_t* ReadUInt64Vector(IpcIo* io, size_t* size);
LITEIPC_API float* ReadFloatVector(IpcIo* io, size_t* size);
LITEIPC_API double* ReadDoubleVector(IpcIo* io, size_t* size);

#ifdef __cplusplus
}
#endif

#endif /* LITEIPC_RPC_SERIALIZER_H */
