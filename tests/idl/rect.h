// A sequenceable of the test interfaces, declared without an include dir (OHOS.Test.Rect).
#pragma once

#include <string>

#include "test/payload/point.h"

namespace OHOS::Test {

struct Rect {
    Point corner;
    Point size;
    std::string label;
    friend bool operator==(const Rect&, const Rect&) = default;
};

inline void marshal(liteipc::Writer& w, const Rect& r) {
    marshal(w, r.corner);
    marshal(w, r.size);
    w.write_string(r.label);
}
inline bool unmarshal(liteipc::Reader& r, Rect& out) {
    if (!unmarshal(r, out.corner) || !unmarshal(r, out.size)) return false;
    out.label = r.read_string_view();
    return r.ok();
}

}  // namespace OHOS::Test
