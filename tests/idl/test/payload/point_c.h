/* The C form of the sequenceable OHOS.Test.Point (test/payload/point.h in C++): the struct the
 * generated C header includes; its functions are in peers/sequenceables.c. */
#ifndef TEST_PAYLOAD_POINT_C_H
#define TEST_PAYLOAD_POINT_C_H

#include <stdint.h>

struct Point {
    int32_t x;
    int32_t y;
};

#endif /* TEST_PAYLOAD_POINT_C_H */
