/*
 * Publish/subscribe in C, shaped after OpenHarmony samgr_lite's Broadcast service: a provider
 * publishes data on a topic, a subscriber adds consumers to topics, and each consumer's Notify runs
 * once per sample. Topics are names (a liteipc service name), and the samples travel zero-copy
 * (liteipc/topic.h): Notify reads the publisher's bytes in place, valid until it returns.
 *
 *   static void on_reading(LiteIpcConsumer* c, const char* topic, const uint8_t* data, uint32_t len) {...}
 *   static LiteIpcConsumer reader = {.identity = "reader", .Notify = on_reading, .Equal = NULL};
 *   LiteIpcBroadcastAddTopic("demo.temperature", 64, LITEIPC_POLICY_ANYONE);   // the provider
 *   LiteIpcBroadcastPublish("demo.temperature", bytes, 8);
 *   LiteIpcBroadcastSubscribe("demo.temperature", &reader);                   // another process
 *
 * The calls use the process's context (OpenLiteIpc, liteipc_adapter.h). Notify runs on one thread
 * per subscribed topic. A topic whose publisher dies is subscribed again once a publisher returns.
 * Returns are LiteIPC codes (LITEIPC_OK, LITEIPC_EPERM, ...: enum IpcErr in liteipc_adapter.h).
 */
#ifndef LITEIPC_BROADCAST_H
#define LITEIPC_BROADCAST_H

#include <stdbool.h>
#include <stdint.h>

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct LiteIpcConsumer LiteIpcConsumer;
struct LiteIpcConsumer {
    const char* identity;
    /* One sample of `topic`: `len` bytes at `data`, read in place (do not keep the pointer). */
    void (*Notify)(LiteIpcConsumer* consumer, const char* topic, const uint8_t* data, uint32_t len);
    /* Whether two consumers are the same; NULL compares the pointers. */
    bool (*Equal)(const LiteIpcConsumer* current, const LiteIpcConsumer* other);
};

/* Provider: create `topic` in this process, samples up to `maxLen` bytes, subscribers by `policy`
 * (LiteIpcPolicy). Publish copies `len` bytes once into the shared pool; every subscriber reads them
 * there. Publish returns false when the topic is not this process's or a subscriber queue is full
 * past the context's default timeout (see the log). */
LITEIPC_API int32_t LiteIpcBroadcastAddTopic(const char* topic, uint32_t maxLen, uint32_t policy);

/* The topic's options beyond LiteIpcBroadcastAddTopic's. Zero-filled, every policy is
 * LITEIPC_POLICY_SAME_UID. `size` is sizeof(LiteIpcTopicOptions) as the caller was built: fields
 * past it are read as zero, so a caller built against this header keeps working with a later one. */
typedef struct {
    uint32_t size;
    uint32_t maxLen;          /* the largest sample, bytes (> 0) */
    uint32_t policy;          /* who may subscribe: LiteIpcPolicy */
    uint32_t uidMin, uidMax;  /* for policy LITEIPC_POLICY_UID_RANGE */
    /* Who may publish: who may hold the topic's name, now and after this process is gone (kept
     * while a subscriber lives; a later publisher must ask for the same). This process's uid is
     * always admitted. A LiteIpcPolicy (_PIDS: this process alone). A publisher the
     * topic's policy does not admit gets LITEIPC_EPERM. */
    uint32_t publisherPolicy;
    uint32_t publisherUidMin, publisherUidMax; /* for publisherPolicy LITEIPC_POLICY_UID_RANGE */
    /* 1: a mediated topic. Every publish passes the kernel, which stamps this process's pid and
     * uid for each subscriber (LiteIpcBroadcastGetPublisher); a subscriber takes no sample the
     * kernel did not stamp. Costs one BPF program run per subscriber per publish. */
    uint32_t mediated;
} LiteIpcTopicOptions;

LITEIPC_API int32_t LiteIpcBroadcastAddTopicWithOptions(const char* topic, const LiteIpcTopicOptions* options);

/* Inside Notify: who published the sample being notified, as the kernel stamped it (a mediated
 * topic). Returns false, and sets nothing, outside Notify or for a topic that is not mediated. */
LITEIPC_API bool LiteIpcBroadcastGetPublisher(uint32_t* pid, uint32_t* uid);
LITEIPC_API bool LiteIpcBroadcastPublish(const char* topic, const uint8_t* data, uint32_t len);
LITEIPC_API int32_t LiteIpcBroadcastRemoveTopic(const char* topic);

/* Subscriber: the first consumer of a topic subscribes this process (the kernel checks the topic's
 * policy); the last one removed unsubscribes it. */
LITEIPC_API int32_t LiteIpcBroadcastSubscribe(const char* topic, LiteIpcConsumer* consumer);
/* Replaces `oldConsumer` by `newConsumer`; returns the one replaced, NULL when it was not there. */
LITEIPC_API LiteIpcConsumer* LiteIpcBroadcastModifyConsumer(const char* topic, LiteIpcConsumer* oldConsumer,
                                                            LiteIpcConsumer* newConsumer);
/* Removes `consumer`; returns the one removed, NULL when it was not there. */
LITEIPC_API LiteIpcConsumer* LiteIpcBroadcastUnsubscribe(const char* topic, const LiteIpcConsumer* consumer);

#ifdef __cplusplus
}
#endif

#endif /* LITEIPC_BROADCAST_H */
