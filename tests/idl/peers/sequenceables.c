/* The test interfaces' sequenceables in C, as a user writes them for liteipc-idl's C: each writes
 * what its C++ marshal (test/payload/point.h, rect.h) writes, so C and C++ read each other's. */
#include <stdlib.h>

#include "icomposed_types_c.h"

bool PointBlockMarshalling(IpcIo* data, const struct Point* dataBlock) {
    return WriteInt32(data, dataBlock->x) && WriteInt32(data, dataBlock->y);
}

bool PointBlockUnmarshalling(IpcIo* data, struct Point* dataBlock) {
    return ReadInt32(data, &dataBlock->x) && ReadInt32(data, &dataBlock->y);
}

void PointFree(struct Point* dataBlock, bool freeSelf) {
    if (freeSelf) free(dataBlock); /* a Point holds nothing of its own */
}

bool RectBlockMarshalling(IpcIo* data, const struct Rect* dataBlock) {
    return PointBlockMarshalling(data, &dataBlock->corner) && PointBlockMarshalling(data, &dataBlock->size) &&
           WriteString(data, dataBlock->label != NULL ? dataBlock->label : "");
}

/* May stop half-way: RectFree frees what was read (the struct came zeroed). */
bool RectBlockUnmarshalling(IpcIo* data, struct Rect* dataBlock) {
    return PointBlockUnmarshalling(data, &dataBlock->corner) && PointBlockUnmarshalling(data, &dataBlock->size) &&
           LiteIpcIdlReadString(data, &dataBlock->label);
}

void RectFree(struct Rect* dataBlock, bool freeSelf) {
    if (dataBlock == NULL) return;
    free(dataBlock->label);
    dataBlock->label = NULL;
    if (freeSelf) free(dataBlock);
}
