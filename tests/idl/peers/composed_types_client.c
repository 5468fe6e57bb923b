/* IComposedTypes' round trips from C (the C++ ones are in idl_pairings_test.cpp): what a call
 * hands back is the caller's, freed here as docs/IDL.md says, so ASan sees every byte go. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "composed_types_c_peer.h"

#include "c_check.h"

static bool same_point(struct Point a, struct Point b) { return a.x == b.x && a.y == b.y; }
static bool same_rect(const struct Rect* a, const struct Rect* b) {
    return same_point(a->corner, b->corner) && same_point(a->size, b->size) && strcmp(a->label, b->label) == 0;
}

static void sequenceables(struct IComposedTypes* service) {
    const struct Point point = {-7, 1 << 30};
    struct Point echoed_point = {0, 0};
    CHECK(service->EchoPoint(service, &point, &echoed_point) == ERR_NONE && same_point(echoed_point, point));

    const struct Rect rect = {{1, 2}, {3, 4}, "a rect"};
    struct Rect echoed_rect = {{0, 0}, {0, 0}, NULL};
    CHECK(service->EchoRect(service, &rect, &echoed_rect) == ERR_NONE && same_rect(&echoed_rect, &rect));
    RectFree(&echoed_rect, false);

    const struct Rect rects[] = {{{1, 2}, {3, 4}, "first"}, {{5, 6}, {7, 8}, ""}};
    struct Rect* echoed_rects = NULL;
    uint32_t count = 0;
    CHECK(service->EchoRects(service, rects, 2, &echoed_rects, &count) == ERR_NONE && count == 2 &&
          same_rect(&echoed_rects[0], &rects[0]) && same_rect(&echoed_rects[1], &rects[1]));
    for (uint32_t i = 0; i < count; ++i) RectFree(&echoed_rects[i], false);
    free(echoed_rects);

    const struct Point points[] = {{1, -1}, {2, -2}, {3, -3}};
    struct Point* echoed_points = NULL;
    CHECK(service->EchoPoints(service, points, 3, &echoed_points, &count) == ERR_NONE && count == 3 &&
          memcmp(echoed_points, points, sizeof points) == 0);
    free(echoed_points); /* Points hold nothing of their own */
    CHECK(service->EchoPoints(service, NULL, 0, &echoed_points, &count) == ERR_NONE && count == 0);
    free(echoed_points);

    const char* const keys[] = {"one", "two"};
    char** echoed_keys = NULL;
    struct Rect* echoed_values = NULL;
    CHECK(service->EchoRectMap(service, keys, rects, 2, &echoed_keys, &echoed_values, &count) == ERR_NONE &&
          count == 2);
    for (uint32_t i = 0; i < count; ++i) {
        const uint32_t at = strcmp(echoed_keys[i], "one") == 0 ? 0 : 1; /* a map's order is its own */
        CHECK(strcmp(echoed_keys[i], keys[at]) == 0 && same_rect(&echoed_values[i], &rects[at]));
        RectFree(&echoed_values[i], false);
    }
    LiteIpcIdlFreeStrings(echoed_keys, count);
    free(echoed_values);
}

static void nested_containers(struct IComposedTypes* service) {
    char* row0[] = {"a", "", "ccc"};
    struct LiteIpcIdlListOfString table[] = {{row0, 3}, {NULL, 0}};
    struct LiteIpcIdlListOfString* echoed_table = NULL;
    uint32_t count = 0;
    CHECK(service->EchoTable(service, table, 2, &echoed_table, &count) == ERR_NONE && count == 2 &&
          echoed_table[0].len == 3 && strcmp(echoed_table[0].items[2], "ccc") == 0 && echoed_table[1].len == 0);
    for (uint32_t i = 0; i < count; ++i) LiteIpcIdlFreeListOfString(&echoed_table[i]);
    free(echoed_table);

    int32_t cells0[] = {1, 2, 3}, cells1[] = {-4};
    struct LiteIpcIdlListOfInt32 grid[] = {{cells0, 3}, {cells1, 1}, {NULL, 0}};
    struct LiteIpcIdlListOfInt32* echoed_grid = NULL;
    CHECK(service->EchoGrid(service, grid, 3, &echoed_grid, &count) == ERR_NONE && count == 3 &&
          echoed_grid[0].len == 3 && echoed_grid[0].items[2] == 3 && echoed_grid[1].items[0] == -4 &&
          echoed_grid[2].len == 0);
    for (uint32_t i = 0; i < count; ++i) LiteIpcIdlFreeListOfInt32(&echoed_grid[i]);
    free(echoed_grid);

    const int32_t keys[] = {7, -1};
    char* words[] = {"seven", "sept"};
    const struct LiteIpcIdlListOfString values[] = {{words, 2}, {NULL, 0}};
    int32_t* echoed_keys = NULL;
    struct LiteIpcIdlListOfString* echoed_values = NULL;
    CHECK(service->EchoNested(service, keys, values, 2, &echoed_keys, &echoed_values, &count) == ERR_NONE &&
          count == 2);
    for (uint32_t i = 0; i < count; ++i) {
        const uint32_t at = echoed_keys[i] == 7 ? 0 : 1;
        CHECK(echoed_keys[i] == keys[at] && echoed_values[i].len == values[at].len);
        if (at == 0 && echoed_values[i].len == 2) CHECK(strcmp(echoed_values[i].items[1], "sept") == 0);
        LiteIpcIdlFreeListOfString(&echoed_values[i]);
    }
    free(echoed_keys);
    free(echoed_values);

    char* names[] = {"origin"};
    struct Point spots[] = {{0, 0}};
    const struct LiteIpcIdlMapOfStringToPoint maps[] = {{names, spots, 1}, {NULL, NULL, 0}};
    struct LiteIpcIdlMapOfStringToPoint* echoed_maps = NULL;
    CHECK(service->EchoMaps(service, maps, 2, &echoed_maps, &count) == ERR_NONE && count == 2 &&
          echoed_maps[0].len == 1 && strcmp(echoed_maps[0].keys[0], "origin") == 0 && echoed_maps[1].len == 0);
    for (uint32_t i = 0; i < count; ++i) LiteIpcIdlFreeMapOfStringToPoint(&echoed_maps[i]);
    free(echoed_maps);
}

static void interfaces_and_inout(struct IComposedTypes* service, SvcIdentity listener) {
    const SvcIdentity listeners[] = {listener, listener};
    int32_t sum = 0;
    CHECK(service->CallListeners(service, listeners, 2, 7, &sum) == ERR_NONE && sum == 42);

    struct Point point = {1, 2};
    /* An inout array goes in allocated (malloc) and comes back replaced. */
    uint32_t count = 2;
    struct Rect* rects = calloc(count, sizeof *rects);
    rects[0] = (struct Rect){{1, 1}, {2, 2}, strdup("first")};
    rects[1] = (struct Rect){{3, 3}, {4, 4}, strdup("second")};
    char** names = NULL;
    struct LiteIpcIdlListOfPoint* lists = NULL;
    uint32_t named = 0;
    CHECK(service->Move(service, &point, &rects, &count, &names, &lists, &named) == ERR_NONE);
    CHECK(point.x == 2 && point.y == 3 && count == 2 && strcmp(rects[0].label, "second") == 0 &&
          strcmp(rects[1].label, "first") == 0 && named == 2);
    for (uint32_t i = 0; i < named; ++i) {
        const bool corners = strcmp(names[i], "corners") == 0;
        CHECK(lists[i].len == 2 && lists[i].items[0].x == (corners ? 1 : 2) && lists[i].items[1].x == (corners ? 3 : 4));
        LiteIpcIdlFreeListOfPoint(&lists[i]);
    }
    free(lists);
    LiteIpcIdlFreeStrings(names, named);
    for (uint32_t i = 0; i < count; ++i) RectFree(&rects[i], false);
    free(rects);
}

int ComposedTypesRoundTrips(const char* name, SvcIdentity listener) {
    struct IComposedTypes* service = NULL;
    if (ComposedTypesProxyOpen(name, &service) != ERR_NONE) {
        fprintf(stderr, "FAIL: cannot open %s\n", name);
        return 1;
    }
    ComposedTypesProxySetWaitTime(service, 30);
    sequenceables(service);
    nested_containers(service);
    interfaces_and_inout(service, listener);
    ComposedTypesProxyRelease(service);
    return g_failures;
}
