// See uws_heads.cc: every request head of a uWS connection, read before uWS parses it.
#pragma once

#include <napi.h>

namespace tokio {

// uws.watchHeads(app, headerTimeoutMs, onHandOver) -> true once `app`'s connections are watched
Napi::Value WatchHeads(const Napi::CallbackInfo& info);

}  // namespace tokio
