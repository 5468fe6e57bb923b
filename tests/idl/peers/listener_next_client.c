/* A client of IListener's next version (next/IListener.idl) against a service of version 1 named
 * in IDL_SERVICE: the kernel lets it connect (one contract), the method both versions have
 * answers, the appended one gives unknown_method, and the service answers on. Exits 0 when all
 * of that holds, else 1 with the reason. */
#include <stdio.h>
#include <stdlib.h>

#include "ilistener_c.h"

int main(void) {
    const char* name = getenv("IDL_SERVICE");
    struct IListener* listener = NULL;
    int32_t status = name != NULL ? ListenerProxyOpen(name, &listener) : ERR_INVALID_PARAM;
    if (status != ERR_NONE) {
        fprintf(stderr, "FAIL: open %s: %d\n", name != NULL ? name : "(IDL_SERVICE unset)", status);
        return 1;
    }
    ListenerProxySetWaitTime(listener, 30);
    int32_t tripled = 0, paired = 0;
    if ((status = listener->OnValue(listener, 7, &tripled)) != ERR_NONE || tripled != 21) {
        fprintf(stderr, "FAIL: OnValue(7): status %d, %d\n", status, tripled);
        return 1;
    }
    if ((status = listener->OnPair(listener, 1, 2, &paired)) != LITEIPC_IDL_ERR_UNKNOWN_METHOD) {
        fprintf(stderr, "FAIL: OnPair: status %d, not unknown_method (%d)\n", status, LITEIPC_IDL_ERR_UNKNOWN_METHOD);
        return 1;
    }
    if ((status = listener->OnValue(listener, 1, &tripled)) != ERR_NONE || tripled != 3) {
        fprintf(stderr, "FAIL: OnValue(1) after: status %d\n", status);
        return 1;
    }
    ListenerProxyRelease(listener);
    printf("version 1's contract %016llx: OnValue answered, OnPair unknown_method\n",
           (unsigned long long)LISTENER_CONTRACT_HASH);
    return 0;
}
