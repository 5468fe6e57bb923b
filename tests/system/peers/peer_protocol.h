/* What the cross-API peers answer, whichever C API serves it: codes and replies. */
#ifndef LITEIPC_TEST_PEER_PROTOCOL_H
#define LITEIPC_TEST_PEER_PROTOCOL_H

enum PeerCode {
    PEER_ADD = 1,       /* int32 n, string s -> int32 n + 1, string s, int32 the service's pid */
    PEER_FD = 2,        /* fd -> int32 the first byte read from it, fd of a pipe holding "peer" */
    PEER_CALL_BACK = 3, /* service reference, int32 n -> int32 what the reference answered to PEER_ADD n */
    PEER_WHO = 4,       /* -> int32 the caller's pid as the service sees it */
};

#endif
