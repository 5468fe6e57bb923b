/* A client of IPlainTypes.idl written in C over the generated proxy: every type round-trips to
 * the service named in IDL_SERVICE (a C++ or a C stub), and the service calls back this
 * process's own C listener; then IComposedTypes under IDL_SERVICE + ".composed"
 * (composed_types_client.c). Prints each failure; exits with their count (0: all passed). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "composed_types_c_peer.h"
#include "ilistener_c.h"
#include "iplain_types_c.h"

#include "c_check.h"

#define CHECK_ECHO(Method, Type, value)                                         \
    do {                                                                        \
        Type got_ = 0;                                                          \
        CHECK(service->Method(service, (value), &got_) == ERR_NONE && got_ == (value)); \
    } while (0)

static int32_t Triple(struct IListener* self, int32_t value, int32_t* result) {
    (void)self;
    *result = value * 3;
    return ERR_NONE;
}

static void primitives(struct IPlainTypes* service) {
    CHECK_ECHO(EchoBoolean, bool, true);
    CHECK_ECHO(EchoBoolean, bool, false);
    CHECK_ECHO(EchoByte, int8_t, -128);
    CHECK_ECHO(EchoByte, int8_t, 127);
    CHECK_ECHO(EchoShort, int16_t, -32768);
    CHECK_ECHO(EchoShort, int16_t, 32767);
    CHECK_ECHO(EchoInt, int32_t, INT32_MIN);
    CHECK_ECHO(EchoInt, int32_t, INT32_MAX);
    CHECK_ECHO(EchoLong, int64_t, INT64_MIN);
    CHECK_ECHO(EchoLong, int64_t, INT64_MAX);
    CHECK_ECHO(EchoFloat, float, -1.5e30f);
    CHECK_ECHO(EchoDouble, double, 2.5e-300);
    char* text = NULL;
    CHECK(service->EchoString(service, "héllo, liteipc", &text) == ERR_NONE && text && strcmp(text, "héllo, liteipc") == 0);
    free(text);
    text = NULL;
    CHECK(service->EchoString(service, "", &text) == ERR_NONE && text && text[0] == '\0');
    free(text);
}

static void byte_arrays(struct IPlainTypes* service) {
    /* Empty, inline (under 256 bytes) and in the pool, up to the C API's 64 KiB. */
    const uint32_t sizes[] = {0, 200, 4096, 65536};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
        uint8_t* bytes = malloc(sizes[s] + 1);
        int64_t sum = 0, got_sum = -1;
        for (uint32_t i = 0; i < sizes[s]; ++i) sum += bytes[i] = (uint8_t)(i * 7 + s);
        uint8_t* echoed = NULL;
        uint32_t length = 1;
        CHECK(service->EchoBytes(service, bytes, sizes[s], &echoed, &length) == ERR_NONE);
        CHECK(length == sizes[s] && echoed != NULL && memcmp(echoed, bytes, sizes[s]) == 0);
        CHECK(service->SumBytes(service, bytes, sizes[s], &got_sum) == ERR_NONE && got_sum == sum);
        free(echoed);
        free(bytes);
    }
    /* One past the limit is refused here, before anything is sent, and the proxy works on. */
    uint8_t* too_large = calloc(65537, 1);
    int64_t sum = 0;
    CHECK(service->SumBytes(service, too_large, 65537, &sum) == LITEIPC_IDL_ERR_INVALID_ARGUMENT);
    free(too_large);
    CHECK_ECHO(EchoInt, int32_t, 7);
}

static void containers(struct IPlainTypes* service) {
    const int64_t longs[] = {1, -2, INT64_MAX};
    int64_t* got_longs = NULL;
    uint32_t count = 0;
    CHECK(service->EchoLongs(service, longs, 3, &got_longs, &count) == ERR_NONE && count == 3 &&
          memcmp(got_longs, longs, sizeof longs) == 0);
    free(got_longs);
    got_longs = NULL;
    CHECK(service->EchoLongs(service, longs, 0, &got_longs, &count) == ERR_NONE && count == 0);
    free(got_longs);

    const char* const strings[] = {"a", "", "ccc"};
    char** got_strings = NULL;
    CHECK(service->EchoStrings(service, strings, 3, &got_strings, &count) == ERR_NONE && count == 3 &&
          strcmp(got_strings[0], "a") == 0 && strcmp(got_strings[1], "") == 0 && strcmp(got_strings[2], "ccc") == 0);
    LiteIpcIdlFreeStrings(got_strings, count);

    const char* const keys[] = {"one", "two"};
    const int32_t values[] = {1, 2};
    char** got_keys = NULL;
    int32_t* got_values = NULL;
    CHECK(service->EchoMap(service, keys, values, 2, &got_keys, &got_values, &count) == ERR_NONE && count == 2);
    /* A map's order is the sender's (a C++ unordered_map has its own): look each key up. */
    int found = 0;
    for (uint32_t i = 0; i < count; ++i)
        for (int k = 0; k < 2; ++k) found += strcmp(got_keys[i], keys[k]) == 0 && got_values[i] == values[k];
    CHECK(found == 2);
    LiteIpcIdlFreeStrings(got_keys, count);
    free(got_values);
}

static void out_and_inout(struct IPlainTypes* service) {
    int32_t high = 0, low = 0;
    CHECK(service->Split(service, 0x123456789abcdef0LL, &high, &low) == ERR_NONE && high == 0x12345678 &&
          low == (int32_t)0x9abcdef0);
    int32_t value = 21;
    char* text = malloc(4);
    strcpy(text, "abc");
    int32_t* numbers = malloc(2 * sizeof *numbers);
    numbers[0] = 1;
    numbers[1] = -5;
    uint32_t count = 2;
    CHECK(service->Twice(service, &value, &text, &numbers, &count) == ERR_NONE);
    CHECK(value == 42 && strcmp(text, "abcabc") == 0 && count == 2 && numbers[0] == 2 && numbers[1] == -10);
    free(text);
    free(numbers);
}

static void fds_and_interfaces(struct IPlainTypes* service, struct ListenerStub* listener) {
    int ends[2];
    CHECK(pipe(ends) == 0 && write(ends[1], "through a pipe", 14) == 14);
    close(ends[1]);
    char* text = NULL;
    CHECK(service->ReadFd(service, ends[0], &text) == ERR_NONE && text && strcmp(text, "through a pipe") == 0);
    free(text);
    close(ends[0]); /* the sender keeps its own */

    int32_t tripled = 0;
    CHECK(service->CallListener(service, ListenerStubIdentity(listener), 14, &tripled) == ERR_NONE && tripled == 42);

    /* A local object of another interface passed as an IListener: the receiver's proxy of it is
     * refused by the kernel, as a connect by name is, and the method answers with that error. */
    static struct IComposedTypes no_methods; /* never called */
    static struct ComposedTypesStub other;
    CHECK(ComposedTypesStubInit(&other, &no_methods) == ERR_NONE);
    tripled = 0;
    CHECK(service->CallListener(service, ComposedTypesStubIdentity(&other), 14, &tripled) ==
              LITEIPC_IDL_ERR_INTERFACE_MISMATCH && tripled == 0);
    /* What is left works: the right listener is still called back. */
    CHECK(service->CallListener(service, ListenerStubIdentity(listener), 2, &tripled) == ERR_NONE && tripled == 6);
}

static void errors_and_oneway(struct IPlainTypes* service) {
    CHECK(service->Fail(service, 4) == -4); /* liteipc::Errc::permission_denied, by its code */
    CHECK(service->Note(service, "left a note") == ERR_NONE);
    /* Oneway: it arrives after the call returned; wait for it. */
    int arrived = 0;
    for (int i = 0; i < 2000 && !arrived; ++i) {
        char* note = NULL;
        if (service->LastNote(service, &note) == ERR_NONE && note != NULL) arrived = strcmp(note, "left a note") == 0;
        free(note);
        if (!arrived) usleep(10000);
    }
    CHECK(arrived);
}

/* The kernel refuses a proxy of another interface at connect, whichever language serves. */
static void wrong_interface(const char* name) {
    struct IListener* wrong = NULL;
    CHECK(ListenerProxyOpen(name, &wrong) == LITEIPC_IDL_ERR_INTERFACE_MISMATCH && wrong == NULL);
}

int main(void) {
    const char* name = getenv("IDL_SERVICE");
    struct IPlainTypes* service = NULL;
    if (name == NULL || PlainTypesProxyOpen(name, &service) != ERR_NONE) {
        fprintf(stderr, "FAIL: cannot open %s\n", name != NULL ? name : "(IDL_SERVICE unset)");
        return 100;
    }
    PlainTypesProxySetWaitTime(service, 30);
    static struct IListener listener_impl = {Triple};
    static struct ListenerStub listener;
    if (ListenerStubInit(&listener, &listener_impl) != ERR_NONE) return 100;

    primitives(service);
    byte_arrays(service);
    containers(service);
    out_and_inout(service);
    fds_and_interfaces(service, &listener);
    errors_and_oneway(service);
    wrong_interface(name);
    PlainTypesProxyRelease(service);
    char composed[256];
    snprintf(composed, sizeof composed, "%s.composed", name);
    g_failures += ComposedTypesRoundTrips(composed, ListenerStubIdentity(&listener));
    fprintf(stderr, "%s: %d failures\n", name, g_failures);
    return g_failures;
}
