// The PHP threads: one "main" thread that starts and stops PHP and replaces workers that exit,
// and N workers that each own one PHP thread context for their whole life. No N-API here.
#pragma once

#include <pthread.h>
#include <sys/types.h>
#include <time.h>

#include <atomic>
#include <chrono>
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

// Worker mode: a script that boots once per thread and loops on tokio_handle_request().
struct WorkerScript {
  std::string filename, name, document_root;  // its absolute path, its URL path, the root
  int threads = 1;
  uint64_t max_requests = 0;  // restarted after about this many requests (up to 10 % fewer); 0 = never
  size_t max_memory = 0;      // restarted after a request that left more than this in use; 0 = never
  int max_failures = 6;       // consecutive failed boots before it is reported broken
};

// php-fpm's pm, for the classic threads (worker scripts keep theirs): all of them always (static),
// spares kept between two bounds (dynamic), or started for requests and retired once idle (ondemand)
enum class PoolMode { kStatic, kDynamic, kOndemand };

struct PoolConfig {
  int workers = 1;  // classic threads: all (static) or at most (dynamic, ondemand); each worker script adds its own
  PoolMode mode = PoolMode::kStatic;
  int start_workers = 0, min_spare = 0, max_spare = 0;  // dynamic: pm.start_servers, pm.min/max_spare_servers
  std::chrono::milliseconds idle_timeout{10000};        // ondemand: pm.process_idle_timeout
  int process = 0;                                      // the server process index, for tokio_server_info()
  size_t stack_size = 16 * 1024 * 1024;
  uint64_t max_requests = 0;  // per worker thread, then it is replaced; 0 = never
  std::string ini_path, ini_defaults, ini_entries, server_software, version;
  int executor = TOKIO_EXECUTOR_EXT;
  bool wall_clock_timeouts = false;
  std::vector<std::string> env;  // KEY=VALUE
  std::vector<WorkerScript> scripts;
};

enum class WorkerState { kStarting, kBooting, kIdle, kBusy, kExiting, kStopped, kBroken };
const char* WorkerStateName(WorkerState state);

// What /status?full shows of a thread's request, as php-fpm's per-process block: the one it runs,
// or the last one it ran.
struct RequestFacts {
  std::string method, uri, script;
  std::string user;  // PHP_AUTH_USER: the user of a Basic Authorization header, else empty
  int64_t content_length = 0;
  bool running = false;
  std::chrono::steady_clock::time_point started;
  int64_t duration_us = 0;  // once it ended
  double cpu_percent = 0;   // once it ended: the thread's CPU time over the wall time, in %
  size_t memory = 0;        // once it ended: its peak PHP memory
  timespec cpu_start{};
};

struct WorkerStats {
  int index = 0;
  WorkerState state = WorkerState::kStarting;
  uint64_t requests = 0;
  uint64_t generation = 0;  // how many threads have held this slot
  uint64_t replaced = 0;    // of those, how many took over from one that left (max_requests, a broken context)
  size_t last_peak_memory = 0;
  uint32_t current_job = 0;
  int script = -1;   // the worker script it runs, -1 for classic scripts
  int failures = 0;  // its script's consecutive failed boots
  // Stats(full) only: the thread now holding the slot and its current or last request
  pid_t tid = 0;                 // its Linux thread id (0 before it started)
  int64_t started_ms = 0;        // when it started, ms since the epoch
  uint64_t thread_requests = 0;  // requests this thread (not the slot) ran
  RequestFacts facts;
};

// A request a PHP thread runs, as the slow log (slowlog.h) sees it.
struct RunningRequest {
  int worker = 0;
  uint64_t serial = 0;  // the slot's requests ended before it: tells it from the slot's next ones
  std::chrono::steady_clock::time_point started;
  const tokio_thread* php = nullptr;
  // StillRunning() only
  pid_t tid = 0;
  std::string method, uri, script, request_id;
};

// A worker script's run on one thread ended, or it booted.
struct ScriptEvent {
  int worker;
  int script;
  bool ended;  // false: it just reached tokio_handle_request()
  const char*
      reason;  // why it ended: max_requests, max_memory, reload, watch, shutdown, ended (by itself, between requests), killed, fatal_error, exit, boot_failed
  int exit_status;
  int failures;       // consecutive failed boots so far
  uint64_t requests;  // served by this run
  double boot_ms;     // start to tokio_handle_request()
};

// What the pool tells its owner. Called on PHP threads; must be cheap and thread-safe.
struct PoolListener {
  virtual ~PoolListener() = default;
  virtual void OnStarted(const tokio_info* info, const std::string& error) = 0;
  virtual void OnJobDone(Job* job) = 0;
  virtual void OnScript(const ScriptEvent& event) = 0;
  virtual void OnStopped() = 0;
};

class WorkerPool {
 public:
  // One thread's slot: the thread that holds it now, and what it runs. Public for the SAPI
  // callbacks of worker mode, which get it back as their opaque handle.
  struct Worker {
    WorkerPool* pool;
    int index;
    uint64_t generation = 0;
    uint64_t replaced = 0;
    pthread_t thread{};
    tokio_thread php{};
    Job* current = nullptr;
    uint64_t requests = 0;
    uint64_t lifetime_requests = 0;
    size_t last_peak = 0;
    WorkerState state = WorkerState::kStopped;
    bool retire = false;  // leaves once idle with nothing queued, and is not replaced
    // worker mode
    int script = -1;
    bool booted = false;      // this run reached tokio_handle_request()
    bool ready_once = false;  // counted in ready_
    int failures = 0;
    const char* stop = nullptr;  // why the run must end at its next tokio_handle_request()
    uint64_t run_requests = 0, run_limit = 0;
    std::chrono::steady_clock::time_point run_started;
    // for Stats(full): written under mutex_, by the thread as it starts
    pid_t tid = 0;
    int64_t started_ms = 0;
    // written by the thread itself at each request's start and end, read by Stats(full)
    std::mutex facts_mutex;
    RequestFacts facts;
  };

  WorkerPool(PoolConfig config, PoolListener* listener);
  ~WorkerPool();

  bool Start(std::string* error);  // returns at once; OnStarted follows
  void Submit(Job* job);
  // Stops a queued or running job; false if it is not here (already done).
  bool Abort(uint32_t id, tokio_abort reason, Job** dequeued);
  // How long a job has been running, in ms; -1 while it is queued or once it is done.
  int64_t RunningFor(uint32_t id);
  void Stop();  // finishes queued jobs, then OnStopped
  // Worker mode: restarts every worker script, one thread at a time (each next one once the
  // last has booted); a boot that fails stops the round. Returns the threads to restart.
  int RestartScripts(const char* reason);
  // `full`: with each thread's id, start and current or last request (/status?full)
  std::vector<WorkerStats> Stats(size_t* queued, bool full = false);

  // For the slow log: the requests running now; and whether `r` still runs, then with its names
  std::vector<RunningRequest> Running();
  bool StillRunning(RunningRequest* r);

  // From the SAPI layer, on a worker-script thread (tokio_host_next_request / _request_done)
  const tokio_request* NextRequest(void* worker, void** host);
  void RequestDone(void* worker, const tokio_result* result);

 private:
  static void* MainThread(void* self);
  static void* WorkerThread(void* worker);
  void RunMain();
  void RunWorker(Worker* w);
  void RunScript(Worker* w);
  bool SpawnWorker(Worker* w);
  // the classic threads started with the pool
  int FirstClassic() const {
    return config_.mode == PoolMode::kStatic    ? config_.workers
           : config_.mode == PoolMode::kDynamic ? config_.start_workers
                                                : 0;
  }
  // under mutex_: classic jobs queued beyond the classic threads free to take them
  int Deficit() const { return static_cast<int>(queues_[0].size()) - free_; }
  int Grow(int threads);  // under mutex_: starts up to this many classic threads; returns how many it started
  void Maintain();        // under mutex_: dynamic, once a second
  Job* NextJob(Worker* w);
  Job* Take(Worker* w, std::deque<Job*>& queue);
  bool AllStopped() const;
  // on the worker's thread, around each request: what Stats(full) reports of it
  static void BeginFacts(Worker* w, const Job* job);
  static void EndFacts(Worker* w, const Job* job, size_t peak_memory);
  void NextInRound();  // under mutex_

  PoolConfig config_;
  PoolListener* listener_;
  pthread_t main_thread_{};
  std::mutex mutex_;
  std::condition_variable main_cv_;  // the main thread waits for exits and stop
  // by target: [0] classic scripts, [1 + k] worker script k; each with the threads that wait on it
  std::vector<std::deque<Job*>> queues_;
  std::vector<std::unique_ptr<std::condition_variable>> work_cvs_;
  std::vector<tokio_request> boots_;  // each worker script's own request
  std::vector<std::unique_ptr<Worker>> workers_;
  std::deque<Worker*> round_;  // RestartScripts(): the threads still to restart, the first restarting
  const char* round_reason_ = nullptr;
  std::string startup_error_;
  int ready_ = 0;
  int total_ = 0;       // threads started with the pool: it is ready once they are
  int live_ = 0;        // classic threads started and not yet joined
  int free_ = 0;        // of those, the ones that will take the next job: idle or starting
  int spawn_rate_ = 1;  // dynamic: threads to start in the next round short of spares
  bool stopping_ = false;
  bool started_ = false;
  std::atomic<bool> fs_shared_{false};  // a worker thread could not have a umask of its own
};

}  // namespace tokio
