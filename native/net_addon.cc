// tokio_net.node: the connection Gate (gate/gate.h), FastCGI's connections (fastcgi/), what uWebSockets.js does not expose about its
// sockets (gate/uws_socket.h) and the shared rate-limit table (ratelimit/rate_table.h). Apart from
// the engine so that the supervisor, which only binds and hands over sockets, does not map libphp
// and the libraries it links (about 2.5 MiB of relocated data per process, measured).
#include <napi.h>

#include "fastcgi/fcgi_connections.h"
#include "gate/gate.h"
#include "gate/uws_socket.h"
#include "ratelimit/rate_table.h"

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  tokio::InitUwsSocket(env, exports);
  tokio::RateTable::Init(env, exports);
  tokio::FcgiConnections::Init(env, exports);
  return tokio::Gate::Init(env, exports);
}

NODE_API_MODULE(tokio_net, InitAddon)
