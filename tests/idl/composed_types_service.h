// The C++ service of IComposedTypes.idl: what peers/composed_types_service.c does in C, so one set
// of round trips checks both (idl_pairings_test.cpp).
#pragma once

#include <algorithm>
#include <string>

#include "icomposed_types.h"
#include "ilistener.h"

namespace OHOS::Test {

class ComposedTypesService final : public ComposedTypesStub {
public:
    explicit ComposedTypesService(liteipc::Context& context) : context_(context) {}

    liteipc::Result<Point> EchoPoint(const Point& v) override { return v; }
    liteipc::Result<Rect> EchoRect(const Rect& v) override { return v; }
    liteipc::Result<std::vector<Rect>> EchoRects(const std::vector<Rect>& v) override { return v; }
    liteipc::Result<std::vector<Point>> EchoPoints(const std::vector<Point>& v) override { return v; }
    liteipc::Result<std::unordered_map<std::string, Rect>> EchoRectMap(const std::unordered_map<std::string, Rect>& v) override {
        return v;
    }
    liteipc::Result<std::vector<std::vector<std::string>>> EchoTable(const std::vector<std::vector<std::string>>& v) override {
        return v;
    }
    liteipc::Result<std::vector<std::vector<int32_t>>> EchoGrid(const std::vector<std::vector<int32_t>>& v) override { return v; }
    liteipc::Result<std::unordered_map<int32_t, std::vector<std::string>>> EchoNested(
        const std::unordered_map<int32_t, std::vector<std::string>>& v) override {
        return v;
    }
    liteipc::Result<std::vector<std::unordered_map<std::string, Point>>> EchoMaps(
        const std::vector<std::unordered_map<std::string, Point>>& v) override {
        return v;
    }
    // The sum of what each listener answers for `value`: each reference is called back.
    liteipc::Result<int32_t> CallListeners(const std::vector<liteipc::idl::ServiceRef<IListener>>& listeners,
                                           int32_t value) override {
        int32_t sum = 0;
        for (const auto& listener : listeners) {
            auto proxy = ListenerProxy::open(context_, listener);
            if (!proxy) return std::unexpected(proxy.error());
            auto answer = proxy->OnValue(value);
            if (!answer) return std::unexpected(answer.error());
            sum += *answer;
        }
        return sum;
    }
    // The point moves by (1, 1); the rects come back reversed; `named` lists their corners and
    // sizes in the order they came in.
    liteipc::Result<> Move(Point& point, std::vector<Rect>& rects,
                           std::unordered_map<std::string, std::vector<Point>>& named) override {
        point.x += 1;
        point.y += 1;
        named = {{"corners", {}}, {"sizes", {}}};
        for (const auto& rect : rects) {
            named["corners"].push_back(rect.corner);
            named["sizes"].push_back(rect.size);
        }
        std::reverse(rects.begin(), rects.end());
        return {};
    }

private:
    liteipc::Context& context_;
};

}  // namespace OHOS::Test
