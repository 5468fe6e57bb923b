// A sequenceable of the test interfaces, declared with an include dir (test.payload..OHOS.Test.Point).
#pragma once

#include <cstdint>

#include <liteipc/parcel.h>

namespace OHOS::Test {

struct Point {
    int32_t x = 0;
    int32_t y = 0;
    friend bool operator==(const Point&, const Point&) = default;
};

inline void marshal(liteipc::Writer& w, const Point& p) {
    w.write_int32(p.x);
    w.write_int32(p.y);
}
inline bool unmarshal(liteipc::Reader& r, Point& p) {
    p.x = r.read_int32();
    p.y = r.read_int32();
    return r.ok();
}

}  // namespace OHOS::Test
