/* IComposedTypes.idl served in C (composed_types_service.h does it in C++): every method answers
 * with deep copies, allocated with malloc, which the stub frees once the reply is sent. */
#include <stdlib.h>
#include <string.h>

#include "composed_types_c_peer.h"
#include "ilistener_c.h"

static char* copy_string(const char* text) {
    char* copy = malloc(strlen(text) + 1);
    if (copy != NULL) strcpy(copy, text);
    return copy;
}

/* An array of `count` items of `size` bytes, never NULL (even for 0 items), zeroed. */
static void* array_of(uint32_t count, size_t size) { return calloc(count != 0 ? count : 1, size); }

static bool copy_rect(const struct Rect* from, struct Rect* to) {
    *to = *from;
    return (to->label = copy_string(from->label)) != NULL;
}

static bool copy_strings(const struct LiteIpcIdlListOfString* from, struct LiteIpcIdlListOfString* to) {
    to->len = from->len;
    if ((to->items = array_of(from->len, sizeof(char*))) == NULL) return false;
    for (uint32_t i = 0; i < from->len; ++i)
        if ((to->items[i] = copy_string(from->items[i])) == NULL) return false;
    return true;
}

static bool copy_points(const struct Point* from, uint32_t count, struct Point** to) {
    if ((*to = array_of(count, sizeof(struct Point))) == NULL) return false;
    if (count != 0) memcpy(*to, from, count * sizeof(struct Point));
    return true;
}

static int32_t EchoPoint(struct IComposedTypes* self, const struct Point* value, struct Point* result) {
    (void)self;
    *result = *value;
    return ERR_NONE;
}

static int32_t EchoRect(struct IComposedTypes* self, const struct Rect* value, struct Rect* result) {
    (void)self;
    return copy_rect(value, result) ? ERR_NONE : LITEIPC_IDL_ERR_NO_MEMORY;
}

static int32_t EchoRects(struct IComposedTypes* self, const struct Rect* value, uint32_t valueLen, struct Rect** result,
                         uint32_t* resultLen) {
    (void)self;
    /* Set the length first: the stub frees what was copied even when a copy fails half-way. */
    *resultLen = valueLen;
    if ((*result = array_of(valueLen, sizeof(struct Rect))) == NULL) return LITEIPC_IDL_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < valueLen; ++i)
        if (!copy_rect(&value[i], &(*result)[i])) return LITEIPC_IDL_ERR_NO_MEMORY;
    return ERR_NONE;
}

static int32_t EchoPoints(struct IComposedTypes* self, const struct Point* value, uint32_t valueLen,
                          struct Point** result, uint32_t* resultLen) {
    (void)self;
    *resultLen = valueLen;
    return copy_points(value, valueLen, result) ? ERR_NONE : LITEIPC_IDL_ERR_NO_MEMORY;
}

static int32_t EchoRectMap(struct IComposedTypes* self, const char* const* keys, const struct Rect* values, uint32_t count,
                           char*** resultKeys, struct Rect** resultValues, uint32_t* resultLen) {
    (void)self;
    *resultLen = count;
    *resultKeys = array_of(count, sizeof(char*));
    *resultValues = array_of(count, sizeof(struct Rect));
    if (*resultKeys == NULL || *resultValues == NULL) return LITEIPC_IDL_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < count; ++i)
        if ((( *resultKeys)[i] = copy_string(keys[i])) == NULL || !copy_rect(&values[i], &(*resultValues)[i]))
            return LITEIPC_IDL_ERR_NO_MEMORY;
    return ERR_NONE;
}

static int32_t EchoTable(struct IComposedTypes* self, const struct LiteIpcIdlListOfString* value, uint32_t valueLen,
                         struct LiteIpcIdlListOfString** result, uint32_t* resultLen) {
    (void)self;
    *resultLen = valueLen;
    if ((*result = array_of(valueLen, sizeof **result)) == NULL) return LITEIPC_IDL_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < valueLen; ++i)
        if (!copy_strings(&value[i], &(*result)[i])) return LITEIPC_IDL_ERR_NO_MEMORY;
    return ERR_NONE;
}

static int32_t EchoGrid(struct IComposedTypes* self, const struct LiteIpcIdlListOfInt32* value, uint32_t valueLen,
                        struct LiteIpcIdlListOfInt32** result, uint32_t* resultLen) {
    (void)self;
    *resultLen = valueLen;
    if ((*result = array_of(valueLen, sizeof **result)) == NULL) return LITEIPC_IDL_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < valueLen; ++i) {
        struct LiteIpcIdlListOfInt32* row = &(*result)[i];
        row->len = value[i].len;
        if ((row->items = array_of(row->len, sizeof(int32_t))) == NULL) return LITEIPC_IDL_ERR_NO_MEMORY;
        if (row->len != 0) memcpy(row->items, value[i].items, row->len * sizeof(int32_t));
    }
    return ERR_NONE;
}

static int32_t EchoNested(struct IComposedTypes* self, const int32_t* keys, const struct LiteIpcIdlListOfString* values,
                          uint32_t count, int32_t** resultKeys, struct LiteIpcIdlListOfString** resultValues,
                          uint32_t* resultLen) {
    (void)self;
    *resultLen = count;
    *resultKeys = array_of(count, sizeof(int32_t));
    *resultValues = array_of(count, sizeof **resultValues);
    if (*resultKeys == NULL || *resultValues == NULL) return LITEIPC_IDL_ERR_NO_MEMORY;
    if (count != 0) memcpy(*resultKeys, keys, count * sizeof(int32_t));
    for (uint32_t i = 0; i < count; ++i)
        if (!copy_strings(&values[i], &(*resultValues)[i])) return LITEIPC_IDL_ERR_NO_MEMORY;
    return ERR_NONE;
}

static int32_t EchoMaps(struct IComposedTypes* self, const struct LiteIpcIdlMapOfStringToPoint* value, uint32_t valueLen,
                        struct LiteIpcIdlMapOfStringToPoint** result, uint32_t* resultLen) {
    (void)self;
    *resultLen = valueLen;
    if ((*result = array_of(valueLen, sizeof **result)) == NULL) return LITEIPC_IDL_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < valueLen; ++i) {
        struct LiteIpcIdlMapOfStringToPoint* map = &(*result)[i];
        const struct LiteIpcIdlListOfString keys = {value[i].keys, value[i].len};
        struct LiteIpcIdlListOfString copied = {NULL, 0};
        const bool ok = copy_strings(&keys, &copied);
        map->keys = copied.items;
        map->len = copied.len;
        if (!ok || !copy_points(value[i].values, value[i].len, &map->values)) return LITEIPC_IDL_ERR_NO_MEMORY;
    }
    return ERR_NONE;
}

/* The sum of what each listener answers for `value`: each reference is called back. */
static int32_t CallListeners(struct IComposedTypes* self, const SvcIdentity* listeners, uint32_t listenersLen,
                             int32_t value, int32_t* result) {
    (void)self;
    *result = 0;
    for (uint32_t i = 0; i < listenersLen; ++i) {
        struct IListener* proxy = NULL;
        int32_t status = ListenerProxyFromRemote(listeners[i], &proxy); /* the kernel checks its interface */
        if (status != ERR_NONE) return status;
        int32_t answer = 0;
        status = proxy->OnValue(proxy, value, &answer);
        ListenerProxyRelease(proxy);
        if (status != ERR_NONE) return status;
        *result += answer;
    }
    return ERR_NONE;
}

/* The point moves by (1, 1); the rects come back reversed; `named` lists their corners and sizes. */
static int32_t Move(struct IComposedTypes* self, struct Point* point, struct Rect** rects, uint32_t* rectsLen,
                    char*** namedKeys, struct LiteIpcIdlListOfPoint** namedValues, uint32_t* namedLen) {
    (void)self;
    point->x += 1;
    point->y += 1;
    const uint32_t count = *rectsLen;
    for (uint32_t i = 0; i < count / 2; ++i) {
        const struct Rect swapped = (*rects)[i];
        (*rects)[i] = (*rects)[count - 1 - i];
        (*rects)[count - 1 - i] = swapped;
    }
    *namedLen = 2;
    *namedKeys = array_of(2, sizeof(char*));
    *namedValues = array_of(2, sizeof **namedValues);
    if (*namedKeys == NULL || *namedValues == NULL) return LITEIPC_IDL_ERR_NO_MEMORY;
    (*namedKeys)[0] = copy_string("corners");
    (*namedKeys)[1] = copy_string("sizes");
    for (uint32_t n = 0; n < 2; ++n) {
        struct LiteIpcIdlListOfPoint* points = &(*namedValues)[n];
        points->len = count;
        if ((points->items = array_of(count, sizeof(struct Point))) == NULL) return LITEIPC_IDL_ERR_NO_MEMORY;
        /* In the order the rects came in (reversed back). */
        for (uint32_t i = 0; i < count; ++i)
            points->items[i] = n == 0 ? (*rects)[count - 1 - i].corner : (*rects)[count - 1 - i].size;
    }
    return (*namedKeys)[0] != NULL && (*namedKeys)[1] != NULL ? ERR_NONE : LITEIPC_IDL_ERR_NO_MEMORY;
}

int32_t ServeComposedTypes(const char* name) {
    static struct IComposedTypes impl = {
        EchoPoint, EchoRect, EchoRects, EchoPoints, EchoRectMap, EchoTable, EchoGrid, EchoNested, EchoMaps,
        CallListeners, Move,
    };
    static struct ComposedTypesStub stub;
    const int32_t status = ComposedTypesStubInit(&stub, &impl);
    return status != ERR_NONE ? status : ComposedTypesStubServe(&stub, name);
}
