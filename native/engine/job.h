// One request on its way through the engine: filled on the JS thread, run on a worker thread,
// answered on the JS thread. The worker only touches the fields marked "worker".
#pragma once

#include <napi.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "../sapi/tokio_sapi.h"
#include "output_buffer.h"

namespace tokio {

class Engine;

// execute() takes the request's strings in two NUL-joined strings, so they cross in two calls:
// bytes as they were on the wire (latin1), then paths (UTF-8). src/native/addon.ts mirrors this.
enum WireField : uint32_t {
  kMethod,
  kRequestUri,
  kQueryString,
  kProtocol,
  kRequestId,
  kServerName,
  kServerAddr,
  kServerPort,
  kRemoteAddr,
  kRemotePort,
  kWireFieldCount  // then header name, value, ...
};
enum TextField : uint32_t {
  kScriptFilename,
  kScriptName,
  kPathInfo,
  kDocumentRoot,
  kPhpValue,       // FastCGI's PHP_VALUE: ini lines for this request
  kPhpAdminValue,  // FastCGI's PHP_ADMIN_VALUE: the same, locked against ini_set()
  kTextFieldCount  // then $_SERVER name, value, ...
};

struct Job {
  uint32_t id = 0;
  Engine* engine = nullptr;
  int target = 0;  // who runs it: 0 a classic thread, 1 + k a thread of worker script k

  // Request: every string lives in `arena`, NUL-terminated, pointed to by `request`.
  std::string arena;
  std::vector<tokio_str> headers;      // name, value, ...
  std::vector<tokio_str> server_vars;  // name, value, ...
  tokio_request request{};
  const char* cookies = nullptr;
  const char* body = nullptr;  // points into a JS Buffer kept alive by body_ref
  // or a body spooled to an unlinked file, read with pread. JS closes it once the job is answered,
  // through Node's fs, which counts the descriptors it opened (a close here left Node thinking the
  // number still open: a warning when it came back, and a stray close when a worker_thread ends).
  int body_fd = -1;
  size_t body_len = 0;
  size_t body_read = 0;  // worker
  Napi::Reference<Napi::Value> body_ref;

  // Answer
  bool streaming = false;  // flush() sends parts to JS as they come
  std::atomic<bool> client_gone{false};
  std::atomic<bool> killed{false};
  bool finished = false;      // worker: tokio_finish_request() answered, later output is dropped
  bool event_stream = false;  // worker: text/event-stream, every write goes out at once

  // Streamed bytes JS has not yet handed to the socket: past kStreamWindow the PHP thread waits.
  static constexpr size_t kStreamWindow = 1024 * 1024;
  std::mutex stream_mutex;
  std::condition_variable stream_cv;
  size_t unacked = 0;

  // Lets a PHP thread blocked on a slow reader go: the client left or the script is stopped.
  void WakeWriter() {
    std::lock_guard<std::mutex> lock(stream_mutex);
    stream_cv.notify_all();
  }
  int worker = -1;
  tokio_result result{};              // worker
  int status = 200;                   // worker, then read on the JS thread after completion
  std::string reason;                 // worker
  std::string header_blob;            // worker: "Name: value" lines, NUL-separated
  std::vector<uint32_t> header_ends;  // worker: end offsets in header_blob
  bool headers_sent = false;          // worker
  bool streamed_headers = false;      // worker: on_headers was called, the body goes by chunks
  OutputBuffer output;                // worker
  // FastCGI: the front's connection, lent by JS, on which the PHP thread may write a whole
  // response itself (fcgi_answer.h); who answers is settled once, by fcgi_owner
  int fcgi_fd = -1;
  uint16_t fcgi_request = 0;
  std::vector<std::string> fcgi_extra;  // headers JS adds (the trace's): name, value, ...
  enum Owner { kUnclaimed, kPhpThread, kJs };
  std::atomic<int> fcgi_owner{kUnclaimed};
  int64_t answered_bytes = -1;  // worker: the body bytes the PHP thread wrote, -1 if it left the answer to JS
  std::chrono::steady_clock::time_point submitted;  // pool: when it was queued
  std::chrono::steady_clock::time_point started;    // pool: when a worker took it (unset if it never ran)
  std::chrono::steady_clock::time_point ended;      // pool: when the script ended
};

}  // namespace tokio
