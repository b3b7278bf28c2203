// php-fpm's slow log (request_slowlog_timeout) without ptrace: a watchdog thread that, once a
// request has run past the timeout, reads its PHP backtrace from its thread's executor globals
// (tokio_backtrace()) and reports it, once per request. PHP threads never wait for it: it sleeps
// until the earliest running request is due, and reads their frames without stopping them.
#pragma once

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "worker_pool.h"

namespace tokio {

struct SlowRequest {
  RunningRequest request;
  double elapsed_ms = 0;
  std::string trace;  // php-fpm's frame lines, innermost first, without the last newline
};

class Slowlog {
 public:
  // `report` is called on the watchdog thread
  Slowlog(WorkerPool* pool, std::chrono::milliseconds timeout, std::function<void(SlowRequest)> report);
  ~Slowlog();  // stops the watchdog: no report after it returns
  bool Start(std::string* error);

 private:
  static void* Main(void* self);
  void Run();

  WorkerPool* pool_;
  std::chrono::milliseconds timeout_;
  std::function<void(SlowRequest)> report_;
  pthread_t thread_{};
  bool started_ = false;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace tokio
