// The addon's one export: the Engine class (see engine/engine.h).
#include <napi.h>

#include "engine/engine.h"

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return tokio::Engine::Init(env, exports);
}

NODE_API_MODULE(tokio_php, InitAddon)
