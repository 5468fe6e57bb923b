/* The C form of the sequenceable OHOS.Test.Rect (rect.h in C++): it holds a string, so its
 * RectFree has something to free. Its functions are in peers/sequenceables.c. */
#ifndef TEST_RECT_C_H
#define TEST_RECT_C_H

#include "test/payload/point_c.h"

struct Rect {
    struct Point corner;
    struct Point size;
    char* label; /* malloc */
};

#endif /* TEST_RECT_C_H */
