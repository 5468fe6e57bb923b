/* The LiteIPC C API header serializer.h (liteipc/lite/serializer.h, which LiteIPC code includes by its bare
 * name: pkg-config and find_package(liteipc) put liteipc/lite on the include path). */
#include "lite/serializer.h"
