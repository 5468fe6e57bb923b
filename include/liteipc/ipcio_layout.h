/*
 * The IpcIo both LiteIPC C APIs share (lite/serializer.h and rpc/serializer.h): one type, so an
 * IpcIo written with either API's calls is read with either, and IpcIoInit serves both.
 *
 * Its first fields are upstream's, at upstream's offsets and with their meaning, for programs
 * that read them (writing them changes nothing):
 *  - writing: bufferBase is the caller's buffer, and its first bufferCur - bufferBase bytes are
 *    the message's data so far (upstream's serializer test writes exactly those to a pipe);
 *    bufferLeft is the room left for data, offsetsLeft the objects that still fit;
 *  - reading: bufferBase is the message's data, bufferCur the next byte to read, bufferLeft the
 *    bytes not read yet, offsetsLeft the objects not read yet.
 * liteipc keeps the objects' offsets itself: offsetsBase and offsetsCur are NULL. An IpcIo
 * initialised with IpcIoInit and not written to reads its own buffer, as upstream's does.
 * The fields after `flag` are the runtime's. Changing this layout changes libliteipc's ABI.
 */
#ifndef LITEIPC_IPCIO_LAYOUT_H
#define LITEIPC_IPCIO_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* IpcIo.flag bits, as in LiteIPC. */
#define IPC_IO_INITIALIZED 0x01
#define IPC_IO_OVERFLOW 0x02

/* Special objects an IpcIo holds at most, as in LiteIPC. */
#define LITEIPC_IO_MAX_OBJECTS 32
/* Room for the C++ Writer or Reader that does the work (checked by a static_assert). */
#define LITEIPC_IPCIO_CORE_SIZE 512

typedef void (*LiteIpcIoRelease)(void* ptr);

/* A data buffer pushed with IpcIoPushDataBuff: copied into the pool when the IpcIo is sent. */
typedef struct {
    const void* buff;
    LiteIpcIoRelease release; /* IpcIoPushDataBuffWithFree's, run once by IpcIoFreeDataBuff */
} LiteIpcIoDataBuff;

typedef struct {
    char* bufferBase;
    size_t* offsetsBase;
    char* bufferCur;
    size_t* offsetsCur;
    size_t bufferLeft;
    size_t offsetsLeft;
    uint32_t flag;
    uint32_t mode;         /* 0: uninitialised, 1: writing, 2: reading */
    uint32_t dataLimit;    /* writing: bytes of data the buffer holds by LiteIPC's rules */
    uint32_t large;        /* writing: 1 after LiteIpcIoInitLarge */
    unsigned char* buffer; /* writing: the caller's buffer */
    uint32_t tableEnd;     /* writing: where the offsets entries end in it */
    uint32_t buffCount;    /* data buffers pushed (an index into buffs) */
    LiteIpcIoDataBuff buffs[LITEIPC_IO_MAX_OBJECTS];
    struct {
        uint32_t handle, token;
        uint64_t cookie;
    } poppedSvc; /* the last service reference popped (the old API's SvcIdentity) */
    struct {
        uint32_t buffSz;
        void* buff;
    } poppedBuff; /* the last data buffer popped (BuffPtr) */
    union {
        uint64_t align;
        unsigned char bytes[LITEIPC_IPCIO_CORE_SIZE];
    } core;
} LiteIpcIo;

#ifdef __cplusplus
}
#endif

#endif /* LITEIPC_IPCIO_LAYOUT_H */
