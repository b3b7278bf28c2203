#include "worker_pool.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "job.h"

namespace tokio {

const char* WorkerStateName(WorkerState state) {
  switch (state) {
    case WorkerState::kStarting: return "starting";
    case WorkerState::kBooting: return "booting";
    case WorkerState::kIdle: return "idle";
    case WorkerState::kBusy: return "busy";
    case WorkerState::kExiting: return "exiting";
    case WorkerState::kStopped: return "stopped";
    case WorkerState::kBroken: return "broken";
  }
  return "unknown";
}

namespace {

bool EqualsIgnoringCase(tokio_str s, const char* lower) {
  size_t n = std::strlen(lower);
  if (s.len != n) return false;
  for (size_t i = 0; i < n; i++) {
    if (std::tolower(static_cast<unsigned char>(s.ptr[i])) != lower[i]) return false;
  }
  return true;
}

// PHP_AUTH_USER as PHP finds it: the user part of "Authorization: Basic base64(user:password)".
// The password is never kept.
std::string BasicUser(const tokio_str* headers, size_t pairs) {
  for (size_t i = 0; i < pairs; i++) {
    if (!EqualsIgnoringCase(headers[2 * i], "authorization")) continue;
    tokio_str v = headers[2 * i + 1];
    if (v.len < 6 || !EqualsIgnoringCase(tokio_str{v.ptr, 6}, "basic ")) return "";
    std::string user;
    uint32_t bits = 0;
    int count = 0;
    for (size_t j = 6; j < v.len; j++) {
      char c = v.ptr[j];
      int x = c >= 'A' && c <= 'Z'   ? c - 'A'
              : c >= 'a' && c <= 'z' ? c - 'a' + 26
              : c >= '0' && c <= '9' ? c - '0' + 52
              : c == '+'             ? 62
              : c == '/'             ? 63
                                     : -1;
      if (x < 0) {
        if (c == '=' || c == ' ') continue;
        return "";
      }
      bits = (bits << 6) | static_cast<uint32_t>(x);
      if ((count += 6) >= 8) {
        count -= 8;
        char byte = static_cast<char>((bits >> count) & 0xff);
        if (byte == ':') return user;
        user.push_back(byte);
      }
    }
    return "";  // no ':': not user:password
  }
  return "";
}

int64_t CpuMicros(const timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000 + t.tv_nsec / 1000; }

}  // namespace

void WorkerPool::BeginFacts(Worker* w, const Job* job) {
  timespec cpu{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
  const tokio_request& r = job->request;
  std::lock_guard<std::mutex> lock(w->facts_mutex);
  RequestFacts& f = w->facts;
  f.method.assign(r.method.ptr, r.method.len);
  f.uri.assign(r.request_uri.ptr, r.request_uri.len);
  f.script.assign(r.script_filename.ptr, r.script_filename.len);
  f.user = BasicUser(r.headers, r.header_count);
  f.content_length = r.content_length > 0 ? r.content_length : 0;
  f.running = true;
  f.started = job->started;
  f.duration_us = 0;
  f.cpu_percent = 0;
  f.memory = 0;
  f.cpu_start = cpu;
}

void WorkerPool::EndFacts(Worker* w, const Job* job, size_t peak_memory) {
  timespec cpu{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
  std::lock_guard<std::mutex> lock(w->facts_mutex);
  RequestFacts& f = w->facts;
  f.running = false;
  f.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(job->ended - f.started).count();
  int64_t cpu_us = CpuMicros(cpu) - CpuMicros(f.cpu_start);
  f.cpu_percent = f.duration_us > 0 ? 100.0 * static_cast<double>(cpu_us) / static_cast<double>(f.duration_us) : 0;
  f.memory = peak_memory;
}

WorkerPool::WorkerPool(PoolConfig config, PoolListener* listener) : config_(std::move(config)), listener_(listener) {
  total_ = FirstClassic();
  for (auto& s : config_.scripts) {
    total_ += s.threads;
    // what the script sees while it boots: a GET of itself
    tokio_request r{};
    auto str = [](const std::string& v) { return tokio_str{v.c_str(), v.size()}; };
    static const std::string kGet = "GET", kProtocol = "HTTP/1.1";
    r.method = str(kGet);
    r.protocol = str(kProtocol);
    r.request_uri = r.script_name = str(s.name);
    r.script_filename = str(s.filename);
    r.document_root = str(s.document_root);
    r.content_length = -1;
    boots_.push_back(r);
  }
  for (size_t i = 0; i <= config_.scripts.size(); i++) {
    queues_.emplace_back();
    work_cvs_.push_back(std::make_unique<std::condition_variable>());
  }
}

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
  if (rc != 0) {
    w->state = WorkerState::kStopped;
    return false;
  }
  if (w->script < 0) {
    live_++;
    free_++;
  }
  return true;
}

int WorkerPool::Grow(int threads) {
  int started = 0;
  for (auto& w : workers_) {
    if (started == threads) break;
    if (w->script >= 0 || w->state != WorkerState::kStopped) continue;
    if (!SpawnWorker(w.get())) break;
    started++;
  }
  return started;
}

// php-fpm's idle server maintenance: more idle threads than max spare, the one idle last in the
// slots retires; fewer than min spare, more start, twice as many each round it stays short (up
// to 32), never past the maximum
void WorkerPool::Maintain() {
  int idle = 0;
  Worker* last = nullptr;
  for (auto& w : workers_) {
    if (w->script >= 0 || w->state != WorkerState::kIdle || w->retire) continue;
    idle++;
    last = w.get();
  }
  if (idle > config_.max_spare) {
    last->retire = true;
    work_cvs_[0]->notify_all();
  }
  int wanted = std::min({spawn_rate_, config_.min_spare - idle, config_.workers - live_});
  if (wanted <= 0) {
    spawn_rate_ = 1;
    return;
  }
  Grow(wanted);
  spawn_rate_ = std::min(spawn_rate_ * 2, 32);
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

  // what the pool announces, before any PHP thread may have started (ondemand)
  if (unshare(CLONE_FS) != 0) fs_shared_ = true;
  tokio_info info{};
  char error[256] = {0};
  if (tokio_startup(&cfg, &info, error, sizeof(error)) != 0) {
    listener_->OnStarted(nullptr, error);
    listener_->OnStopped();
    return;
  }

  std::unique_lock<std::mutex> lock(mutex_);
  // a slot for every thread there may be; the classic ones past those started now stay empty
  int slots = config_.workers;
  for (auto& s : config_.scripts) slots += s.threads;
  for (int i = 0, script = -1, left = config_.workers; i < slots; i++, left--) {
    while (left == 0) left = config_.scripts[++script].threads;
    auto w = std::make_unique<Worker>();
    w->pool = this;
    w->index = i;
    w->script = script;
    Worker* raw = w.get();
    workers_.push_back(std::move(w));
    if (script < 0 && i >= FirstClassic()) continue;
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
  // ondemand: a thread that could not start (pthread_create refused) is tried again later, not at once
  auto retry_at = std::chrono::steady_clock::time_point::min();
  auto ondemand = [&] {
    return announced && !stopping_ && config_.mode == PoolMode::kOndemand && Deficit() > 0 && live_ < config_.workers &&
           std::chrono::steady_clock::now() >= retry_at;
  };
  // dynamic: php-fpm's maintenance, a round a second from the start
  auto tick = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (;;) {
    auto due = [&] {
      return (!announced && (ready_ == total_ || !startup_error_.empty())) ||
             std::any_of(workers_.begin(), workers_.end(), exiting) || (stopping_ && AllStopped()) || ondemand();
    };
    if (announced && !stopping_ && config_.mode == PoolMode::kDynamic) main_cv_.wait_until(lock, tick, due);
    else if (retry_at > std::chrono::steady_clock::now()) main_cv_.wait_until(lock, retry_at, due);
    else main_cv_.wait(lock, due);
    if (!announced && !startup_error_.empty()) {  // a worker script that never boots
      announced = true;
      stopping_ = true;
      for (auto& cv : work_cvs_) cv->notify_all();
      lock.unlock();
      listener_->OnStarted(nullptr, startup_error_);
      lock.lock();
    }
    if (!announced && ready_ == total_) {
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
      if (w->script < 0) live_--;
      // a thread that left while the pool runs is replaced (max_requests, a broken context), unless it retired
      if (!stopping_ && !w->retire && SpawnWorker(w.get())) w->replaced++;
      w->retire = false;
    }
    if (ondemand()) {
      int wanted = std::min(Deficit(), config_.workers - live_);
      if (Grow(wanted) < wanted) retry_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    }
    if (announced && !stopping_ && config_.mode == PoolMode::kDynamic && std::chrono::steady_clock::now() >= tick) {
      Maintain();
      tick = std::chrono::steady_clock::now() + std::chrono::seconds(1);
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
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  int64_t started_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  {
    std::lock_guard<std::mutex> lock(w->facts_mutex);
    w->facts = RequestFacts{};  // nothing from the thread this one replaces
  }
  bool ok = tokio_thread_startup(&w->php) == 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    w->tid = tid;
    w->started_ms = started_ms;
    w->state = ok ? WorkerState::kIdle : WorkerState::kBroken;
    // a worker script's thread is ready once the script reached tokio_handle_request()
    if (w->generation == 1 && (w->script < 0 || !ok)) ready_++;
    if (!ok && w->script < 0) free_--;
  }
  main_cv_.notify_all();
  if (ok && w->script >= 0) RunScript(w);
  while (ok && w->script < 0) {
    Job* job = NextJob(w);
    if (!job) break;
    BeginFacts(w, job);
    tokio_execute(&w->php, &job->request, job, &job->result);
    job->ended = std::chrono::steady_clock::now();
    EndFacts(w, job, job->result.peak_memory);
    bool recycle;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      w->current = nullptr;
      w->requests++;
      w->lifetime_requests++;
      w->last_peak = job->result.peak_memory;
      w->state = WorkerState::kIdle;
      recycle = config_.max_requests > 0 && w->requests >= config_.max_requests;
      if (!recycle) free_++;
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

// A classic thread's next job; null once it leaves: the pool stops, or it retires. A retiring
// thread takes a job still queued instead: it leaves only when nothing waits, so none is stranded.
Job* WorkerPool::NextJob(Worker* w) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto& queue = queues_[0];
  auto woken = [&] { return !queue.empty() || stopping_ || w->retire; };
  if (config_.mode != PoolMode::kOndemand) work_cvs_[0]->wait(lock, woken);
  else if (!work_cvs_[0]->wait_for(lock, config_.idle_timeout, woken)) w->retire = true;
  free_--;
  if (queue.empty()) return nullptr;
  w->retire = false;
  return Take(w, queue);
}

Job* WorkerPool::Take(Worker* w, std::deque<Job*>& queue) {
  Job* job = queue.front();
  queue.pop_front();
  w->current = job;
  w->state = WorkerState::kBusy;
  job->worker = w->index;
  job->started = std::chrono::steady_clock::now();
  return job;
}

// ---- worker mode ----

namespace {

double MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// FrankenPHP's boot backoff: min(n² × 100 ms, 1 s) after the n-th consecutive failure.
std::chrono::milliseconds Backoff(int failures) {
  return std::chrono::milliseconds(std::min(failures * failures * 100, 1000));
}

}  // namespace

// One thread's worker script, run again each time it ends, until the pool stops.
void WorkerPool::RunScript(Worker* w) {
  const WorkerScript& script = config_.scripts[w->script];
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      w->state = w->failures >= script.max_failures ? WorkerState::kBroken : WorkerState::kBooting;
      w->booted = false;
      w->stop = nullptr;
      w->run_requests = 0;
      // jittered down by up to 10 %, so that threads started together do not restart together
      w->run_limit = script.max_requests ? script.max_requests - (std::rand() % (script.max_requests / 10 + 1)) : 0;
      w->run_started = std::chrono::steady_clock::now();
    }
    w->php.loop = w;
    tokio_worker_result result{};
    tokio_run_worker_script(&w->php, &boots_[w->script], &result);
    w->php.loop = nullptr;

    std::unique_lock<std::mutex> lock(mutex_);
    ScriptEvent e{w->index, w->script, true, nullptr, result.exit_status, 0, w->run_requests, 0};
    if (result.booted) {
      e.reason = !result.in_request                   ? (w->stop ? w->stop : "ended")
                 : result.aborted == TOKIO_ABORT_KILL ? "killed"
                 : result.exit_status == 255          ? "fatal_error"
                                                      : "exit";
    } else {
      e.reason = "boot_failed";
      e.failures = ++w->failures;
      if (!round_.empty() && round_.front() == w) round_.clear();  // the rest keep what they booted
      if (!w->ready_once && w->failures >= script.max_failures && startup_error_.empty()) {
        startup_error_ = "WORKER_SCRIPT " + script.filename + " did not reach tokio_handle_request() in " +
                         std::to_string(w->failures) + " attempts (exit status " + std::to_string(result.exit_status) +
                         "; PHP's errors are logged above)";
        main_cv_.notify_all();
      }
    }
    bool stopping = stopping_;
    lock.unlock();
    if (!stopping) listener_->OnScript(e);
    lock.lock();
    if (stopping_) return;
    if (!result.booted) work_cvs_[1 + w->script]->wait_for(lock, Backoff(w->failures), [&] { return stopping_; });
  }
}

const tokio_request* WorkerPool::NextRequest(void* loop, void** host) {
  auto* w = static_cast<Worker*>(loop);
  std::unique_lock<std::mutex> lock(mutex_);
  if (!w->booted) {
    w->booted = true;
    w->failures = 0;
    w->state = WorkerState::kIdle;
    if (!w->ready_once) {
      w->ready_once = true;
      ready_++;
      main_cv_.notify_all();
    }
    if (!round_.empty() && round_.front() == w) {
      round_.pop_front();
      NextInRound();
    }
    ScriptEvent e{w->index, w->script, false, nullptr, 0, 0, 0, MsSince(w->run_started)};
    lock.unlock();
    listener_->OnScript(e);
    lock.lock();
  }
  if (!w->stop && w->run_limit && w->run_requests >= w->run_limit) w->stop = "max_requests";
  auto& queue = queues_[1 + w->script];
  work_cvs_[1 + w->script]->wait(lock, [&] { return !queue.empty() || stopping_ || w->stop; });
  if (w->stop || queue.empty()) {  // a restart leaves the queue to the other threads
    if (!w->stop) w->stop = "shutdown";
    return nullptr;
  }
  Job* job = Take(w, queue);
  w->run_requests++;
  *host = job;
  lock.unlock();
  BeginFacts(w, job);
  return &job->request;
}

void WorkerPool::RequestDone(void* loop, const tokio_result* result) {
  auto* w = static_cast<Worker*>(loop);
  Job* job = w->current;
  if (!job) return;
  job->result = *result;
  job->ended = std::chrono::steady_clock::now();
  EndFacts(w, job, result->peak_memory);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    w->current = nullptr;
    w->requests++;
    w->lifetime_requests++;
    w->last_peak = result->peak_memory;
    w->state = WorkerState::kIdle;
    size_t max_memory = config_.scripts[w->script].max_memory;
    if (!w->stop && max_memory && result->memory > max_memory) w->stop = "max_memory";
  }
  listener_->OnJobDone(job);
}

int WorkerPool::RestartScripts(const char* reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  round_.clear();
  for (auto& w : workers_) {
    if (w->script >= 0 && w->state != WorkerState::kBroken) round_.push_back(w.get());
  }
  round_reason_ = reason;
  int n = static_cast<int>(round_.size());
  NextInRound();
  return n;
}

void WorkerPool::NextInRound() {
  if (round_.empty() || stopping_) return;
  Worker* w = round_.front();
  if (!w->stop) w->stop = round_reason_;
  work_cvs_[1 + w->script]->notify_all();
}

bool WorkerPool::AllStopped() const {
  return std::all_of(workers_.begin(), workers_.end(), [](auto& w) { return w->state == WorkerState::kStopped; });
}

int64_t WorkerPool::RunningFor(uint32_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& w : workers_) {
    if (w->current && w->current->id == id) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                   w->current->started)
          .count();
    }
  }
  return -1;
}

std::vector<RunningRequest> WorkerPool::Running() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<RunningRequest> out;
  for (auto& w : workers_) {
    if (!w->current) continue;
    RunningRequest& r = out.emplace_back();
    r.worker = w->index;
    r.serial = w->lifetime_requests;
    r.started = w->current->started;
    r.php = &w->php;
  }
  return out;
}

bool WorkerPool::StillRunning(RunningRequest* r) {
  std::lock_guard<std::mutex> lock(mutex_);
  Worker* w = workers_[r->worker].get();
  if (!w->current || w->lifetime_requests != r->serial) return false;
  const tokio_request& q = w->current->request;
  r->tid = w->tid;
  r->method.assign(q.method.ptr, q.method.len);
  r->uri.assign(q.request_uri.ptr, q.request_uri.len);
  r->script.assign(q.script_filename.ptr, q.script_filename.len);
  r->request_id.assign(q.request_id.ptr, q.request_id.len);
  return true;
}

void WorkerPool::Submit(Job* job) {
  job->submitted = std::chrono::steady_clock::now();
  size_t target = job->target >= 0 && static_cast<size_t>(job->target) < queues_.size() ? job->target : 0;
  bool grow;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queues_[target].push_back(job);
    // ondemand: no thread free to take it, the main thread starts one
    grow = !target && config_.mode == PoolMode::kOndemand && Deficit() > 0 && live_ < config_.workers;
  }
  // worker-script threads also wait for their restart: any one of them may be the taker
  if (target) work_cvs_[target]->notify_all();
  else work_cvs_[target]->notify_one();
  if (grow) main_cv_.notify_one();
}

bool WorkerPool::Abort(uint32_t id, tokio_abort reason, Job** dequeued) {
  std::lock_guard<std::mutex> lock(mutex_);
  *dequeued = nullptr;
  for (auto& queue : queues_) {
    for (auto it = queue.begin(); it != queue.end(); ++it) {
      if ((*it)->id == id) {
        *dequeued = *it;
        queue.erase(it);
        return true;
      }
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
  for (auto& cv : work_cvs_) cv->notify_all();
  main_cv_.notify_all();
}

std::vector<WorkerStats> WorkerPool::Stats(size_t* queued, bool full) {
  std::lock_guard<std::mutex> lock(mutex_);
  *queued = 0;
  for (auto& queue : queues_) *queued += queue.size();
  std::vector<WorkerStats> out;
  for (auto& w : workers_) {
    WorkerStats& s = out.emplace_back();
    s.index = w->index;
    s.state = w->state;
    s.requests = w->lifetime_requests;
    s.generation = w->generation;
    s.replaced = w->replaced;
    s.last_peak_memory = w->last_peak;
    s.current_job = w->current ? w->current->id : 0;
    s.script = w->script;
    s.failures = w->failures;
    if (!full) continue;
    s.tid = w->tid;
    s.started_ms = w->started_ms;
    s.thread_requests = w->requests;
    std::lock_guard<std::mutex> facts(w->facts_mutex);
    s.facts = w->facts;
  }
  return out;
}

}  // namespace tokio

// ---- SAPI host callbacks for worker mode: on the worker-script thread, inside PHP; never throw ----

extern "C" const tokio_request* tokio_host_next_request(void* loop, void** host) {
  return static_cast<tokio::WorkerPool::Worker*>(loop)->pool->NextRequest(loop, host);
}

extern "C" void tokio_host_request_done(void* loop, const tokio_result* result) {
  static_cast<tokio::WorkerPool::Worker*>(loop)->pool->RequestDone(loop, result);
}
