/* A C client of IGreeter.idl through the installed liteipc-idl (LANGUAGES C), liteipc_idl.h and
 * libliteipc_skeleton: builds, and opening the generated proxy without a loader gives the C API's
 * ERR_IPC_SKELETON_NOT_INIT. */
#include <stdio.h>
#include <stdlib.h>

#include "igreeter_c.h"

int main(void) {
    struct IGreeter* greeter = NULL;
    int32_t status = GreeterProxyOpen("consumer.greeter", &greeter);
    if (status == ERR_NONE) {
        char* text = NULL;
        status = greeter->Greet(greeter, "C consumer", &text);
        printf("idl_c_consumer: %s\n", status == ERR_NONE ? text : "the call failed");
        free(text);
        GreeterProxyRelease(greeter);
        return status == ERR_NONE ? 0 : 1;
    }
    printf("idl_c_consumer: status %d%s\n", (int)status,
           status == ERR_IPC_SKELETON_NOT_INIT ? " (no liteipc-loader)" : "");
    return status == ERR_IPC_SKELETON_NOT_INIT ? 0 : 1;
}
