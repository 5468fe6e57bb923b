/* The LiteIPC C API header liteipc_adapter.h (liteipc/lite/liteipc_adapter.h, which LiteIPC code includes by its bare
 * name: pkg-config and find_package(liteipc) put liteipc/lite on the include path). */
#include "lite/liteipc_adapter.h"
