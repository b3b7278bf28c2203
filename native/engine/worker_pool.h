// The PHP threads: one "main" thread that starts and stops PHP and replaces workers that exit,
// and N workers that each own one PHP thread context for their whole life. No N-API here.
#pragma once

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../sapi/tokio_sapi.h"

namespace tokio {

struct Job;

struct PoolConfig {
  int workers = 1;
  int process = 0;  // the server process index, for tokio_server_info()
  size_t stack_size = 16 * 1024 * 1024;
  uint64_t max_requests = 0;  // per worker thread, then it is replaced; 0 = never
  std::string ini_path, ini_defaults, ini_entries, server_software, version;
  int executor = TOKIO_EXECUTOR_EXT;
  bool wall_clock_timeouts = false;
  std::vector<std::string> env;  // KEY=VALUE
};

enum class WorkerState { kStarting, kIdle, kBusy, kExiting, kStopped, kBroken };
const char* WorkerStateName(WorkerState state);

struct WorkerStats {
  int index;
  WorkerState state;
  uint64_t requests;
  uint64_t generation;  // how many threads have held this slot
  size_t last_peak_memory;
  uint32_t current_job;
};

// What the pool tells its owner. Called on PHP threads; must be cheap and thread-safe.
struct PoolListener {
  virtual ~PoolListener() = default;
  virtual void OnStarted(const tokio_info* info, const std::string& error) = 0;
  virtual void OnJobDone(Job* job) = 0;
  virtual void OnStopped() = 0;
};

class WorkerPool {
 public:
  WorkerPool(PoolConfig config, PoolListener* listener);
  ~WorkerPool();

  bool Start(std::string* error);  // returns at once; OnStarted follows
  void Submit(Job* job);
  // Stops a queued or running job; false if it is not here (already done).
  bool Abort(uint32_t id, tokio_abort reason, Job** dequeued);
  // How long a job has been running, in ms; -1 while it is queued or once it is done.
  int64_t RunningFor(uint32_t id);
  void Stop();  // finishes queued jobs, then OnStopped
  std::vector<WorkerStats> Stats(size_t* queued);

 private:
  struct Worker {
    WorkerPool* pool;
    int index;
    uint64_t generation = 0;
    pthread_t thread{};
    tokio_thread php{};
    Job* current = nullptr;
    uint64_t requests = 0;
    uint64_t lifetime_requests = 0;
    size_t last_peak = 0;
    WorkerState state = WorkerState::kStarting;
  };

  static void* MainThread(void* self);
  static void* WorkerThread(void* worker);
  void RunMain();
  void RunWorker(Worker* w);
  bool SpawnWorker(Worker* w);
  Job* NextJob(Worker* w);
  bool AllStopped() const;

  PoolConfig config_;
  PoolListener* listener_;
  pthread_t main_thread_{};
  std::mutex mutex_;
  std::condition_variable work_cv_;  // workers wait for jobs
  std::condition_variable main_cv_;  // the main thread waits for exits and stop
  std::deque<Job*> queue_;
  std::vector<std::unique_ptr<Worker>> workers_;
  int ready_ = 0;
  bool stopping_ = false;
  bool started_ = false;
  std::atomic<bool> fs_shared_{false};  // a worker thread could not have a umask of its own
};

}  // namespace tokio
