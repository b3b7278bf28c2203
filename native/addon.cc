// The addon's exports: the PHP Engine (engine/engine.h) and the connection Gate (gate/gate.h).
#include <napi.h>

#include "engine/engine.h"
#include "gate/gate.h"

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  tokio::Engine::Init(env, exports);
  return tokio::Gate::Init(env, exports);
}

NODE_API_MODULE(tokio_php, InitAddon)
