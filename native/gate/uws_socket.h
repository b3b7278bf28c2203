// See uws_socket.cc: the connection facts uws-pack 20.0.8 does not expose to JS.
#pragma once

#include <napi.h>

namespace tokio {

// exports.uws = { attach(binaryPath), socketFd(res), silence(res, ssl), keepReading(res, ssl, seconds),
// watchHeads(app, headerTimeoutMs, onHandOver) (uws_heads.h), writeInformational(res, ssl, bytes) }
void InitUwsSocket(Napi::Env env, Napi::Object exports);

}  // namespace tokio
