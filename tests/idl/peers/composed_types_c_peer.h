/* The C peers' IComposedTypes halves, beside their IPlainTypes ones: the service serves it under
 * IDL_SERVICE + ".composed", the client calls it there. */
#ifndef TEST_IDL_COMPOSED_TYPES_C_PEER_H
#define TEST_IDL_COMPOSED_TYPES_C_PEER_H

#include "icomposed_types_c.h"

/* Serves IComposedTypes under `name` (ERR_NONE or a status). */
int32_t ServeComposedTypes(const char* name);
/* Every composed type round-trips to the service `name`; `listener` is this process's (it
 * triples); returns the number of failures, each printed. */
int ComposedTypesRoundTrips(const char* name, SvcIdentity listener);

#endif /* TEST_IDL_COMPOSED_TYPES_C_PEER_H */
