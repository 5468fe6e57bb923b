/*
 * Codes and values shared by the samgr, server and client of OpenHarmony's C-lite IPC suite
 * (communication_ipc test/unittest/c_lite/ipc): the same names and values, so the three programs
 * here send what upstream's send.
 */
#ifndef LITEIPC_UPSTREAM_IPC_PROXY_H
#define LITEIPC_UPSTREAM_IPC_PROXY_H

enum {
    GET_SYSTEM_ABILITY_TRANSACTION = 1,
    ADD_SYSTEM_ABILITY_TRANSACTION = 2,
};

enum {
    CLIENT_OP_ADD = 1,
    CLIENT_OP_SUB = 2,
    CLIENT_OP_PRINT = 3,
};

enum {
    SERVER_OP_ADD = 1,
    SERVER_OP_SUB = 2,
    SERVER_OP_MULTI = 3,
    SERVER_OP_ADD_SERVICE = 4,
};

#define IPC_MAX_SIZE 128

enum {
    SERVER_SA_ID1 = 15
};

#define OP_A 12
#define OP_B 17

#endif /* LITEIPC_UPSTREAM_IPC_PROXY_H */
