// What an IDL interface carried on a topic builds on (liteipc-idl --topic, docs/IDL.md): the
// generated FooTopicPublisher writes each call into a loaned sample, and FooTopicSubscriber reads it
// back through the stub's own dispatch.
//
// A sample is one message of the wire form in liteipc/idl.h: the method code (a uint32), then the
// arguments as a proxy writes them. Everything is in the sample itself (byte arrays included, in
// the data section): a topic carries no fd and no service reference, and a message is at most
// kMaxMessageSize bytes whatever the topic's sample_size.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "liteipc/idl.h"
#include "liteipc/topic.h"

namespace liteipc::idl {

// The objects a sample may hold: inline data buffers only (a sequenceable's marshal could write an
// fd or a service reference, which no subscriber could use). `message`: just sealed by this process,
// so its offsets table is read as written.
inline bool carried_by_topic(std::span<const std::byte> message, size_t object_count) {
    const std::byte* table = message.data() + message.size() - object_count * sizeof(uint32_t);
    for (size_t i = 0; i < object_count; ++i) {
        uint32_t position;
        std::memcpy(&position, table + i * sizeof position, sizeof position);
        WireObject object;
        std::memcpy(&object, message.data() + sizeof(MessageHeader) + position, sizeof object);
        if (object.type != OBJ_PTR || object.flags != kBufferInline) return false;
    }
    return true;
}

// Publishes one call: the code and `values` written in place into a loaned sample. Errc::
// invalid_argument, and nothing published, when they do not fit the topic's sample_size or hold
// what a topic cannot carry; else loan()'s and publish()'s errors.
template <typename... T>
Result<> publish_call(Publisher& publisher, uint32_t code, const char* method, std::chrono::milliseconds timeout,
                      const T&... values) {
    auto sample = publisher.loan(timeout);
    if (!sample) return std::unexpected(sample.error());
    Writer w(sample->data());
    w.write_uint32(code);
    write_all(w, values...);
    const std::span<const std::byte> message = w.seal();
    if (!w.ok())
        return fail(Errc::invalid_argument, std::string(method) + ": the arguments do not fit the topic's sample_size of " +
                                                std::to_string(sample->data().size()) + " bytes: " + w.error_reason());
    if (!carried_by_topic(message, w.object_count()))
        return fail(Errc::invalid_argument, std::string(method) + ": an fd or service reference cannot travel on a topic");
    auto published = publisher.publish(*sample, message.size(), timeout);
    if (!published) return std::unexpected(published.error());
    return {};
}

// Runs the call one sample holds: reads its code and hands the rest to `dispatch(code, reader)`
// (the stub's dispatch_request). Errc::malformed or unknown_method, logged, for a sample no method
// of `interface` reads; else the method's own result.
template <typename Dispatch>
Result<> deliver_call(std::span<const std::byte> sample, const char* interface, Dispatch&& dispatch) {
    Reader r(sample);
    const uint32_t code = r.read_uint32();
    if (!r.ok()) {
        if (log_enabled(LogLevel::warn))
            log_write(LogLevel::warn, __FILE__, __LINE__, "%s: malformed sample: %s", interface, r.error_reason());
        return fail(Errc::malformed, std::string(interface) + ": sample: " + r.error_reason());
    }
    const int32_t status = dispatch(code, r);
    // unknown_method logs at info (a newer client is expected of a service); a topic's reader says more.
    if (status == -static_cast<int32_t>(Errc::unknown_method) && log_enabled(LogLevel::warn))
        log_write(LogLevel::warn, __FILE__, __LINE__, "%s: sample of code %u: no method of that code", interface, code);
    return status_result(status, std::string(interface) + ": sample of code " + std::to_string(code));
}

// The next sample a subscriber takes, run by deliver_call.
template <typename Dispatch>
Result<> receive_call(Subscriber& subscriber, std::chrono::milliseconds timeout, const char* interface,
                      Dispatch&& dispatch) {
    auto sample = subscriber.take(timeout);
    if (!sample) return std::unexpected(sample.error());
    return deliver_call(sample->data(), interface, dispatch);
}

}  // namespace liteipc::idl
