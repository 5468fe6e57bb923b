/* A service of IPlainTypes.idl written in C over the generated stub (liteipc_add_interface
 * LANGUAGES C): what idl_pairings_test.cpp calls from C++ and from C. Serves under the name in
 * IDL_SERVICE until killed, and IComposedTypes (composed_types_service.c) under IDL_SERVICE +
 * ".composed"; its loader comes from LITEIPC_SOCKET and LITEIPC_PIN_ROOT. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "composed_types_c_peer.h"
#include "ilistener_c.h"
#include "iplain_types_c.h"

static pthread_mutex_t g_note_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_note[256];

static char* copy_string(const char* text) {
    char* copy = malloc(strlen(text) + 1);
    if (copy != NULL) strcpy(copy, text);
    return copy;
}

static void* copy_items(const void* items, uint32_t count, size_t size) {
    void* copy = malloc(count != 0 ? count * size : 1);
    if (copy != NULL && count != 0) memcpy(copy, items, count * size);
    return copy;
}

static char** copy_strings(const char* const* strings, uint32_t count) {
    char** copy = calloc(count != 0 ? count : 1, sizeof(char*));
    for (uint32_t i = 0; copy != NULL && i < count; ++i) copy[i] = copy_string(strings[i]);
    return copy;
}

#define ECHO(Name, Type)                                                          \
    static int32_t Name(struct IPlainTypes* self, Type value, Type* result) {    \
        (void)self;                                                               \
        *result = value;                                                          \
        return ERR_NONE;                                                          \
    }
ECHO(EchoBoolean, bool)
ECHO(EchoByte, int8_t)
ECHO(EchoShort, int16_t)
ECHO(EchoInt, int32_t)
ECHO(EchoLong, int64_t)
ECHO(EchoFloat, float)
ECHO(EchoDouble, double)

static int32_t EchoString(struct IPlainTypes* self, const char* value, char** result) {
    (void)self;
    *result = copy_string(value);
    return *result != NULL ? ERR_NONE : LITEIPC_IDL_ERR_NO_MEMORY;
}

static int32_t EchoBytes(struct IPlainTypes* self, const uint8_t* value, uint32_t valueLen, uint8_t** result,
                         uint32_t* resultLen) {
    (void)self;
    *result = copy_items(value, valueLen, 1);
    *resultLen = valueLen;
    return ERR_NONE;
}

static int32_t SumBytes(struct IPlainTypes* self, const uint8_t* data, uint32_t dataLen, int64_t* result) {
    (void)self;
    *result = 0;
    for (uint32_t i = 0; i < dataLen; ++i) *result += data[i]; /* read in place */
    return ERR_NONE;
}

static int32_t EchoLongs(struct IPlainTypes* self, const int64_t* value, uint32_t valueLen, int64_t** result,
                         uint32_t* resultLen) {
    (void)self;
    *result = copy_items(value, valueLen, sizeof *value);
    *resultLen = valueLen;
    return ERR_NONE;
}

static int32_t EchoStrings(struct IPlainTypes* self, const char* const* value, uint32_t valueLen, char*** result,
                           uint32_t* resultLen) {
    (void)self;
    *result = copy_strings(value, valueLen);
    *resultLen = valueLen;
    return ERR_NONE;
}

static int32_t EchoMap(struct IPlainTypes* self, const char* const* keys, const int32_t* values, uint32_t count,
                       char*** resultKeys, int32_t** resultValues, uint32_t* resultLen) {
    (void)self;
    *resultKeys = copy_strings(keys, count);
    *resultValues = copy_items(values, count, sizeof *values);
    *resultLen = count;
    return ERR_NONE;
}

static int32_t Split(struct IPlainTypes* self, int64_t value, int32_t* high, int32_t* low) {
    (void)self;
    *high = (int32_t)((uint64_t)value >> 32);
    *low = (int32_t)(value & 0xffffffff);
    return ERR_NONE;
}

static int32_t Twice(struct IPlainTypes* self, int32_t* value, char** text, int32_t** numbers, uint32_t* numbersLen) {
    (void)self;
    *value *= 2;
    char* doubled = malloc(2 * strlen(*text) + 1);
    if (doubled == NULL) return LITEIPC_IDL_ERR_NO_MEMORY;
    strcpy(doubled, *text);
    strcat(doubled, *text);
    free(*text); /* an inout value arrives allocated: replacing it frees it */
    *text = doubled;
    for (uint32_t i = 0; i < *numbersLen; ++i) (*numbers)[i] *= 2;
    return ERR_NONE;
}

static int32_t ReadFd(struct IPlainTypes* self, int fd, char** result) {
    (void)self;
    char text[64] = {0};
    const ssize_t got = read(fd, text, sizeof text - 1);
    close(fd); /* a received fd is the receiver's */
    if (got < 0) return LITEIPC_IDL_ERR_INVALID_ARGUMENT;
    *result = copy_string(text);
    return ERR_NONE;
}

static int32_t CallListener(struct IPlainTypes* self, SvcIdentity listener, int32_t value, int32_t* result) {
    (void)self;
    struct IListener* proxy = NULL;
    int32_t status = ListenerProxyFromRemote(listener, &proxy); /* the kernel checks its interface */
    if (status != ERR_NONE) return status;
    status = proxy->OnValue(proxy, value, result);
    ListenerProxyRelease(proxy);
    return status;
}

static int32_t Fail(struct IPlainTypes* self, int32_t code) {
    (void)self;
    return -code;
}

static int32_t Note(struct IPlainTypes* self, const char* text) {
    (void)self;
    pthread_mutex_lock(&g_note_lock);
    snprintf(g_note, sizeof g_note, "%s", text);
    pthread_mutex_unlock(&g_note_lock);
    return ERR_NONE;
}

static int32_t LastNote(struct IPlainTypes* self, char** result) {
    (void)self;
    pthread_mutex_lock(&g_note_lock);
    *result = copy_string(g_note);
    pthread_mutex_unlock(&g_note_lock);
    return ERR_NONE;
}

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
/* The tests end this process with SIGKILL, so LeakSanitizer never runs at its exit: look for leaks
 * (what a stub or a method failed to free) while it serves instead. A report fails the sanitized
 * run (scripts/test-sanitized.sh reads every process's stderr). */
static void* look_for_leaks(void* unused) {
    (void)unused;
    for (;;) {
        usleep(100000);
        __lsan_do_recoverable_leak_check();
    }
    return NULL;
}
#endif

int main(void) {
#if defined(__SANITIZE_ADDRESS__)
    pthread_t leak_checker;
    pthread_create(&leak_checker, NULL, look_for_leaks, NULL);
#endif
    static struct IPlainTypes impl = {
        EchoBoolean, EchoByte, EchoShort, EchoInt, EchoLong, EchoFloat, EchoDouble, EchoString, EchoBytes, SumBytes,
        EchoLongs, EchoStrings, EchoMap, Split, Twice, ReadFd, CallListener, Fail, Note, LastNote,
    };
    static struct PlainTypesStub stub;
    const char* name = getenv("IDL_SERVICE");
    if (name == NULL || PlainTypesStubInit(&stub, &impl) != ERR_NONE || PlainTypesStubServe(&stub, name) != ERR_NONE)
        return 1;
    char composed[256];
    snprintf(composed, sizeof composed, "%s.composed", name);
    if (ServeComposedTypes(composed) != ERR_NONE) return 1;
    printf("ready\n");
    fflush(stdout);
    JoinWorkThread();
    return 0;
}
