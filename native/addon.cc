// tokio_php.node: the PHP Engine (engine/engine.h). It links libphp, so only processes that run
// PHP load it; the network parts live in tokio_net.node (net_addon.cc).
#include <napi.h>

#include "engine/engine.h"

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  tokio::Engine::Init(env, exports);
  return exports;
}

NODE_API_MODULE(tokio_php, InitAddon)
