// The JS face of the engine: start, execute, abort, stats, shutdown. Values cross as plain
// strings, numbers and Buffers; results come back through a thread-safe function. One Engine
// starts PHP and owns the pool; every other JS thread of the process (an HTTP event loop on a
// worker_thread) attaches an Engine of its own to that pool: a completion channel, through which
// the requests it submitted are answered on its thread.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "job.h"
#include "output_buffer.h"
#include "slowlog.h"
#include "worker_pool.h"

namespace tokio {

// Something a PHP thread hands to the JS thread.
struct Event {
  enum Kind { kStarted, kHeaders, kHints, kChunk, kFinish, kHeartbeat, kLog, kDone, kScript, kSlow, kStopped } kind;
  explicit Event(Kind k, Job* j = nullptr) : kind(k), job(j) {}
  Job* job;
  int level = 0;                      // kLog; kHints: the status
  std::vector<uint32_t> ends;         // kHints: where each header line in `text` ends
  int64_t ms = 0;                     // kHeartbeat
  std::string text;                   // log message, or the startup error
  tokio_info info{};                  // kStarted
  bool ok = false;                    // kStarted
  OutputBlock chunk;                  // kChunk
  ScriptEvent script{};               // kScript
  std::unique_ptr<SlowRequest> slow;  // kSlow
};

class Engine : public Napi::ObjectWrap<Engine>, public PoolListener {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports);
  explicit Engine(const Napi::CallbackInfo& info);
  ~Engine() override;

  // PoolListener, on PHP threads
  void OnStarted(const tokio_info* info, const std::string& error) override;
  void OnJobDone(Job* job) override;
  void OnScript(const ScriptEvent& event) override;
  void OnStopped() override;

  // From the SAPI host callbacks, on a worker thread
  void Post(Event* event);

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Execute(const Napi::CallbackInfo& info);
  Napi::Value Abort(const Napi::CallbackInfo& info);
  Napi::Value Claim(const Napi::CallbackInfo& info);
  Napi::Value RunningFor(const Napi::CallbackInfo& info);
  Napi::Value Ack(const Napi::CallbackInfo& info);
  Napi::Value ReleaseBody(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value RestartScripts(const Napi::CallbackInfo& info);
  Napi::Value Shutdown(const Napi::CallbackInfo& info);
  Napi::Value Attach(Napi::Env env);
  Napi::Object Info(Napi::Env env) const;
  void Detached();

  static void Deliver(Napi::Env env, Napi::Function, Engine* engine, Event* event);
  void Complete(Napi::Env env, Job* job);
  void DeliverStream(Napi::Env env, Event* e);
  void Track(Napi::Env env, int delta);

  using Tsfn = Napi::TypedThreadSafeFunction<Engine, Event, &Engine::Deliver>;
  Tsfn tsfn_;
  std::unique_ptr<WorkerPool> owned_pool_;  // the engine that started PHP
  WorkerPool* pool_ = nullptr;              // that pool, for every engine of the process
  bool attached_ = false;                   // a channel to another engine's pool
  int channel_ = 0;                         // attached: its event loop's index
  std::unique_ptr<Slowlog> slowlog_;        // the engine that started PHP, with a slowlogTimeoutMs
  int64_t slowlog_ms_ = 0;
  tokio_info info_{};
  std::optional<Napi::Promise::Deferred> start_deferred_, stop_deferred_;
  Napi::FunctionReference on_log_;
  Napi::FunctionReference on_stream_;           // (id, kind, ...) for streaming requests
  Napi::FunctionReference on_done_;             // (id, status, reason, headers, body, ...) per request
  Napi::FunctionReference on_script_;           // worker mode: a worker script booted or ended
  Napi::FunctionReference on_slow_;             // a request ran past slowlogTimeoutMs
  std::unordered_map<uint32_t, Job*> streams_;  // JS thread: streaming requests by id, for Ack
  std::unordered_map<uint32_t, Job*> lent_;     // JS thread: requests with a lent FastCGI connection, for Claim
  PoolConfig config_;
  int threads_ = 0;  // classic and worker-script threads
  enum class Phase { kNew, kStarting, kRunning, kStopping, kStopped } phase_ = Phase::kNew;
  int in_flight_ = 0;
  bool tsfn_referenced_ = true;
};

}  // namespace tokio
