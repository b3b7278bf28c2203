// The addon's exports: the PHP Engine (engine/engine.h), the connection Gate (gate/gate.h),
// what uWebSockets.js does not expose about its sockets (gate/uws_socket.h) and the shared
// rate-limit table (ratelimit/rate_table.h).
#include <napi.h>

#include "engine/engine.h"
#include "gate/gate.h"
#include "gate/uws_socket.h"
#include "ratelimit/rate_table.h"

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  tokio::Engine::Init(env, exports);
  tokio::InitUwsSocket(env, exports);
  tokio::RateTable::Init(env, exports);
  return tokio::Gate::Init(env, exports);
}

NODE_API_MODULE(tokio_php, InitAddon)
