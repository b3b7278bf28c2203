#include "slowlog.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace tokio {

// room for a deep trace: a frame's line is at most about 2 KiB (tokio_backtrace.c clamps names)
constexpr size_t kTraceBytes = 64 * 1024;

Slowlog::Slowlog(WorkerPool* pool, std::chrono::milliseconds timeout, std::function<void(SlowRequest)> report)
    : pool_(pool), timeout_(timeout), report_(std::move(report)) {}

Slowlog::~Slowlog() {
  if (!started_) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  pthread_join(thread_, nullptr);
}

bool Slowlog::Start(std::string* error) {
  int rc = pthread_create(&thread_, nullptr, &Slowlog::Main, this);
  if (rc != 0) {
    *error = std::string("cannot start the slow log's thread: ") + std::strerror(rc);
    return false;
  }
  started_ = true;
  return true;
}

void* Slowlog::Main(void* self) {
  pthread_setname_np(pthread_self(), "php-slowlog");
  static_cast<Slowlog*>(self)->Run();
  return nullptr;
}

void Slowlog::Run() {
  std::unordered_map<int, uint64_t> reported;  // by PHP thread: the serial of its request last logged
  std::string trace;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    auto now = std::chrono::steady_clock::now();
    auto wake = now + timeout_;  // a request starting now is due no sooner
    for (RunningRequest& r : pool_->Running()) {
      auto last = reported.find(r.worker);
      if (last != reported.end() && last->second == r.serial) continue;
      auto due = r.started + timeout_;
      if (due > now) {
        wake = std::min(wake, due);
        continue;
      }
      trace.assign(kTraceBytes, '\0');
      int frames = tokio_backtrace(r.php, trace.data(), trace.size());
      trace.resize(std::strlen(trace.c_str()));
      if (frames < 0) trace += "+++ dump failed\n";  // as php-fpm
      if (!trace.empty()) trace.pop_back();
      // a request that ended meanwhile is dropped: the frames read may be its successor's
      if (!pool_->StillRunning(&r)) continue;
      reported[r.worker] = r.serial;
      double elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - r.started).count();
      report_(SlowRequest{std::move(r), elapsed, std::move(trace)});
    }
    lock.lock();
    cv_.wait_until(lock, wake, [this] { return stopping_; });
  }
}

}  // namespace tokio
