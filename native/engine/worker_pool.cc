#include "worker_pool.h"

#include <sched.h>

#include <algorithm>
#include <cstring>

#include "job.h"

namespace tokio {

const char* WorkerStateName(WorkerState state) {
  switch (state) {
    case WorkerState::kStarting: return "starting";
    case WorkerState::kIdle: return "idle";
    case WorkerState::kBusy: return "busy";
    case WorkerState::kExiting: return "exiting";
    case WorkerState::kStopped: return "stopped";
    case WorkerState::kBroken: return "broken";
  }
  return "unknown";
}

WorkerPool::WorkerPool(PoolConfig config, PoolListener* listener)
    : config_(std::move(config)), listener_(listener) {}

WorkerPool::~WorkerPool() {
  if (started_) pthread_join(main_thread_, nullptr);
}

bool WorkerPool::Start(std::string* error) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, config_.stack_size);
  int rc = pthread_create(&main_thread_, &attr, &WorkerPool::MainThread, this);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    *error = std::string("cannot start the PHP main thread: ") + std::strerror(rc);
    return false;
  }
  started_ = true;
  return true;
}

void* WorkerPool::MainThread(void* self) {
  pthread_setname_np(pthread_self(), "php-main");
  static_cast<WorkerPool*>(self)->RunMain();
  return nullptr;
}

void* WorkerPool::WorkerThread(void* arg) {
  auto* w = static_cast<Worker*>(arg);
  char name[16];
  snprintf(name, sizeof(name), "php-%d", w->index);
  pthread_setname_np(pthread_self(), name);
  w->pool->RunWorker(w);
  return nullptr;
}

bool WorkerPool::SpawnWorker(Worker* w) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, config_.stack_size);
  w->state = WorkerState::kStarting;
  w->requests = 0;
  w->generation++;
  w->php.index = w->index;  // what tokio_worker_id() says
  int rc = pthread_create(&w->thread, &attr, &WorkerPool::WorkerThread, w);
  pthread_attr_destroy(&attr);
  return rc == 0;
}

void WorkerPool::RunMain() {
  std::vector<const char*> env;
  for (auto& kv : config_.env) env.push_back(kv.c_str());
  env.push_back(nullptr);
  tokio_config cfg{};
  cfg.ini_path = config_.ini_path.empty() ? nullptr : config_.ini_path.c_str();
  cfg.ini_defaults = config_.ini_defaults.c_str();
  cfg.ini_entries = config_.ini_entries.c_str();
  cfg.server_software = config_.server_software.c_str();
  cfg.env = env.data();
  cfg.executor = config_.executor;
  cfg.wall_clock_timeouts = config_.wall_clock_timeouts;
  cfg.workers = config_.workers;
  cfg.process = config_.process;
  cfg.version = config_.version.c_str();

  tokio_info info{};
  char error[256] = {0};
  if (tokio_startup(&cfg, &info, error, sizeof(error)) != 0) {
    listener_->OnStarted(nullptr, error);
    listener_->OnStopped();
    return;
  }

  std::unique_lock<std::mutex> lock(mutex_);
  for (int i = 0; i < config_.workers; i++) {
    auto w = std::make_unique<Worker>();
    w->pool = this;
    w->index = i;
    Worker* raw = w.get();
    workers_.push_back(std::move(w));
    if (!SpawnWorker(raw)) {
      stopping_ = true;
      raw->state = WorkerState::kStopped;
      lock.unlock();
      listener_->OnStarted(nullptr, "cannot start PHP worker thread " + std::to_string(i));
      lock.lock();
      break;
    }
  }
  bool announced = stopping_;
  auto exiting = [](const std::unique_ptr<Worker>& w) { return w->state == WorkerState::kExiting; };
  for (;;) {
    main_cv_.wait(lock, [&] {
      return (!announced && ready_ == config_.workers) || std::any_of(workers_.begin(), workers_.end(), exiting) ||
             (stopping_ && AllStopped());
    });
    if (!announced && ready_ == config_.workers) {
      announced = true;
      info.umask_per_thread = !fs_shared_;
      lock.unlock();
      listener_->OnStarted(&info, "");
      lock.lock();
    }
    for (auto& w : workers_) {
      if (!exiting(w)) continue;
      lock.unlock();
      pthread_join(w->thread, nullptr);
      lock.lock();
      w->state = WorkerState::kStopped;
      // a thread that left while the pool runs is replaced: max_requests, or a broken context
      if (!stopping_) SpawnWorker(w.get());
    }
    if (stopping_ && AllStopped()) break;
  }
  lock.unlock();
  tokio_shutdown();
  listener_->OnStopped();
}

void WorkerPool::RunWorker(Worker* w) {
  // umask (and the real working directory) of this thread alone: PHP's umask() in one request
  // must not change the files another request creates. PHP restores it after each request.
  if (unshare(CLONE_FS) != 0) fs_shared_ = true;  // refused by a seccomp profile (Docker's default)
  bool ok = tokio_thread_startup(&w->php) == 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    w->state = ok ? WorkerState::kIdle : WorkerState::kBroken;
    if (w->generation == 1) ready_++;
  }
  main_cv_.notify_all();
  while (ok) {
    Job* job = NextJob(w);
    if (!job) break;
    tokio_execute(&w->php, &job->request, job, &job->result);
    job->ended = std::chrono::steady_clock::now();
    bool recycle;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      w->current = nullptr;
      w->requests++;
      w->lifetime_requests++;
      w->last_peak = job->result.peak_memory;
      w->state = WorkerState::kIdle;
      recycle = config_.max_requests > 0 && w->requests >= config_.max_requests;
    }
    listener_->OnJobDone(job);
    if (recycle) break;
  }
  if (ok) tokio_thread_shutdown();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    w->state = WorkerState::kExiting;
  }
  main_cv_.notify_all();
}

Job* WorkerPool::NextJob(Worker* w) {
  std::unique_lock<std::mutex> lock(mutex_);
  work_cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
  if (queue_.empty()) return nullptr;
  Job* job = queue_.front();
  queue_.pop_front();
  w->current = job;
  w->state = WorkerState::kBusy;
  job->worker = w->index;
  job->started = std::chrono::steady_clock::now();
  return job;
}

bool WorkerPool::AllStopped() const {
  return std::all_of(workers_.begin(), workers_.end(), [](auto& w) { return w->state == WorkerState::kStopped; });
}

int64_t WorkerPool::RunningFor(uint32_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& w : workers_) {
    if (w->current && w->current->id == id) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - w->current->started).count();
    }
  }
  return -1;
}

void WorkerPool::Submit(Job* job) {
  job->submitted = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(job);
  }
  work_cv_.notify_one();
}

bool WorkerPool::Abort(uint32_t id, tokio_abort reason, Job** dequeued) {
  std::lock_guard<std::mutex> lock(mutex_);
  *dequeued = nullptr;
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if ((*it)->id == id) {
      *dequeued = *it;
      queue_.erase(it);
      return true;
    }
  }
  for (auto& w : workers_) {
    if (w->current && w->current->id == id) {
      if (reason == TOKIO_ABORT_DISCONNECT) w->current->client_gone = true;
      else w->current->killed = true;
      w->current->WakeWriter();
      tokio_interrupt(&w->php, reason);
      return true;
    }
  }
  return false;
}

void WorkerPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  main_cv_.notify_all();
}

std::vector<WorkerStats> WorkerPool::Stats(size_t* queued) {
  std::lock_guard<std::mutex> lock(mutex_);
  *queued = queue_.size();
  std::vector<WorkerStats> out;
  for (auto& w : workers_) {
    out.push_back({w->index, w->state, w->lifetime_requests, w->generation, w->last_peak,
                   w->current ? w->current->id : 0});
  }
  return out;
}

}  // namespace tokio
