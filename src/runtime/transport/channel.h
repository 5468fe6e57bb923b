// A connection's data plane, all of it: the shared ctrl region and ring (channel_ctrl.h), the client
// half (channel_client.h), the service half (channel_server.h) and the service's workers (dispatcher.h).
// A call, end to end: ChannelClient::call (channel_client.cpp) -> ControlView::push + ring_doorbell
// (channel_ctrl.cpp) -> a Dispatcher worker wakes (dispatcher.cpp) -> ChannelServer::serve runs the
// handler and publishes the reply (channel_server.cpp) -> the caller's wait_for_reply returns.
#pragma once

#include "transport/channel_client.h"
#include "transport/channel_ctrl.h"
#include "transport/channel_server.h"
#include "transport/dispatcher.h"
