#include "engine.h"

#include <malloc.h>
#include <sys/time.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "../fastcgi/protocol.h"
#include "fcgi_answer.h"

namespace tokio {

// PHP is process-wide, and so are the messages it logs outside any request (startup, shutdown).
static std::atomic<Engine*> startup_log_engine{nullptr};
// PHP's globals are per process: one engine at a time.
static std::atomic<bool> php_in_use{false};
// The engine that runs PHP, once it serves: other JS threads attach to its pool. Guarded by the
// mutex, so no thread attaches while it stops.
static std::mutex primary_mutex;
static Engine* primary = nullptr;

namespace {

enum class Enc { kLatin1, kUtf8 };

// Appends a JS string to the arena as latin1 or UTF-8, NUL-terminated.
void AppendString(napi_env env, napi_value value, bool utf8, std::string& arena) {
  size_t len = 0;
  size_t offset = arena.size();
  auto get = utf8 ? napi_get_value_string_utf8 : napi_get_value_string_latin1;
  if (get(env, value, nullptr, 0, &len) != napi_ok) len = 0;
  arena.resize(offset + len + 1);
  if (len) get(env, value, &arena[offset], len + 1, &len);
  arena.resize(offset + len + 1);
}

// Appends a JS array of strings to the arena as AppendString would append their join('\0'):
// each read from its element, without the joined copy in the JS heap.
void AppendJoined(napi_env env, napi_value value, bool utf8, std::string& arena) {
  bool is_array = false;
  if (napi_is_array(env, value, &is_array) != napi_ok || !is_array) return AppendString(env, value, utf8, arena);
  uint32_t n = 0;
  napi_get_array_length(env, value, &n);
  if (n == 0) arena.push_back('\0');
  for (uint32_t i = 0; i < n; i++) {
    napi_value element;
    if (napi_get_element(env, value, i, &element) != napi_ok) element = nullptr;
    AppendString(env, element, utf8, arena);  // its NUL separates it from the next, or ends the whole
  }
}

// Splits arena[from, to), pieces joined by NUL, into its pieces: n separators give n + 1 pieces,
// empty ones included.
void Split(const std::string& arena, size_t from, size_t to, std::vector<std::pair<size_t, size_t>>& out) {
  for (;;) {
    const char* start = arena.data() + from;
    const char* nul = static_cast<const char*>(std::memchr(start, '\0', to - from));
    size_t len = nul ? static_cast<size_t>(nul - start) : to - from;
    out.emplace_back(from, len);
    if (!nul) return;
    from += len + 1;
  }
}

// FastCGI name-value pairs appended to the arena as name NUL value NUL, each pair's offsets and
// lengths to `out`. Stops at a pair that runs past the end (the transport has read them whole).
void AppendPairs(const uint8_t* p, size_t n, std::string& arena, std::vector<std::pair<size_t, size_t>>& out) {
  arena.reserve(arena.size() + n + n / 8);
  size_t at = 0, name_len, value_len;
  while (NextPair(p, n, &at, &name_len, &value_len)) {
    for (size_t len : {name_len, value_len}) {
      out.emplace_back(arena.size(), len);
      arena.append(reinterpret_cast<const char*>(p + at), len).push_back('\0');
      at += len;
    }
  }
}

double Now() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return tv.tv_sec + tv.tv_usec / 1e6;
}

Napi::Value ToBuffer(Napi::Env env, OutputBlock& block) {
  if (!block.data) return Napi::Buffer<char>::New(env, 0);
  if (!block.free_fn) {  // lent from the job's inline storage: small, cheaper to copy than to share
    Napi::Value copy = Napi::Buffer<char>::Copy(env, block.data, block.size);
    block.data = nullptr;
    return copy;
  }
  auto free_fn = block.free_fn;
  size_t size = block.size;
  Napi::Value buf = Napi::Buffer<char>::New(env, block.data, block.size,
                                            [free_fn, size](Napi::Env, char* data) { free_fn(data, size); });
  block.data = nullptr;
  return buf;
}

// "Name: value" lines -> [name, value, ...]
Napi::Array HeaderPairs(Napi::Env env, const std::string& blob, const std::vector<uint32_t>& ends) {
  Napi::Array out = Napi::Array::New(env);
  uint32_t start = 0, k = 0;
  for (uint32_t end : ends) {
    const char* line = blob.data() + start;
    size_t len = end - start;
    const char* colon = static_cast<const char*>(std::memchr(line, ':', len));
    start = end + 1;
    if (!colon) continue;
    size_t name_len = colon - line;
    while (name_len > 0 && (line[name_len - 1] == ' ' || line[name_len - 1] == '\t')) name_len--;
    const char* value = colon + 1;
    const char* stop = line + len;
    while (value < stop && (*value == ' ' || *value == '\t')) value++;
    napi_value name_v, value_v;
    napi_create_string_latin1(env, line, name_len, &name_v);
    napi_create_string_latin1(env, value, stop - value, &value_v);
    out.Set(k++, Napi::Value(env, name_v));
    out.Set(k++, Napi::Value(env, value_v));
  }
  return out;
}

}  // namespace

Napi::Object Engine::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "Engine",
                                   {
                                       InstanceMethod<&Engine::Start>("start"),
                                       InstanceMethod<&Engine::Execute>("execute"),
                                       InstanceMethod<&Engine::Abort>("abort"),
                                       InstanceMethod<&Engine::Claim>("claim"),
                                       InstanceMethod<&Engine::RunningFor>("runningFor"),
                                       InstanceMethod<&Engine::Ack>("ack"),
                                       InstanceMethod<&Engine::ReleaseBody>("releaseBody"),
                                       InstanceMethod<&Engine::Stats>("stats"),
                                       InstanceMethod<&Engine::RestartScripts>("restartScripts"),
                                       InstanceMethod<&Engine::Shutdown>("shutdown"),
                                   });
  exports.Set("Engine", cls);
  exports.Set("preloadOpcache", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                const char* error = tokio_preload_opcache();
                return error ? Napi::String::New(info.Env(), error) : info.Env().Null();
              }));
  return exports;
}

Engine::Engine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Engine>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) {
    Napi::TypeError::New(env, "Engine(options): options must be an object").ThrowAsJavaScriptException();
    return;
  }
  Napi::Object o = info[0].As<Napi::Object>();
  auto str = [](Napi::Object from, const char* key) {
    Napi::Value v = from.Get(key);
    return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
  };
  auto num = [](Napi::Object from, const char* key, double fallback) {
    Napi::Value v = from.Get(key);
    return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
  };
  attached_ = o.Get("attach").ToBoolean();
  channel_ = static_cast<int>(num(o, "channel", 0));
  config_.workers = static_cast<int>(num(o, "workers", 1));
  config_.process = static_cast<int>(num(o, "process", 0));
  config_.stack_size = static_cast<size_t>(num(o, "stackSize", 16 * 1024 * 1024));
  config_.max_requests = static_cast<uint64_t>(num(o, "maxRequests", 0));
  std::string pm = str(o, "pm");
  config_.mode = pm == "dynamic" ? PoolMode::kDynamic : pm == "ondemand" ? PoolMode::kOndemand : PoolMode::kStatic;
  config_.start_workers = static_cast<int>(num(o, "pmStartWorkers", 0));
  config_.min_spare = static_cast<int>(num(o, "pmMinSpare", 0));
  config_.max_spare = static_cast<int>(num(o, "pmMaxSpare", 0));
  config_.idle_timeout = std::chrono::milliseconds(static_cast<int64_t>(num(o, "pmIdleTimeoutMs", 10000)));
  if (!pm.empty() && pm != "static" && config_.mode == PoolMode::kStatic) {
    Napi::RangeError::New(env, "pm must be static, dynamic or ondemand").ThrowAsJavaScriptException();
    return;
  }
  if (config_.mode == PoolMode::kDynamic &&
      !(1 <= config_.min_spare && config_.min_spare <= config_.max_spare && config_.max_spare <= config_.workers &&
        config_.min_spare <= config_.start_workers && config_.start_workers <= config_.workers)) {
    Napi::RangeError::New(
        env, "pm dynamic: 1 <= pmMinSpare <= pmMaxSpare <= workers, pmMinSpare <= pmStartWorkers <= workers")
        .ThrowAsJavaScriptException();
    return;
  }
  if (config_.mode == PoolMode::kOndemand && config_.idle_timeout.count() < 1) {
    Napi::RangeError::New(env, "pm ondemand: pmIdleTimeoutMs must be at least 1").ThrowAsJavaScriptException();
    return;
  }
  config_.ini_path = str(o, "iniPath");
  config_.ini_defaults = str(o, "iniDefaults");
  config_.ini_entries = str(o, "iniEntries");
  config_.server_software = str(o, "serverSoftware");
  config_.version = str(o, "version");
  config_.executor = str(o, "executor") == "eval" ? TOKIO_EXECUTOR_EVAL : TOKIO_EXECUTOR_EXT;
  config_.wall_clock_timeouts = str(o, "executionTimeClock") == "wall";
  slowlog_ms_ = static_cast<int64_t>(num(o, "slowlogTimeoutMs", 0));
  Napi::Value env_list = o.Get("env");
  if (env_list.IsArray()) {
    Napi::Array arr = env_list.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value v = arr.Get(i);
      if (v.IsString()) config_.env.push_back(v.As<Napi::String>().Utf8Value());
    }
  }
  Napi::Value on_log = o.Get("onLog");
  if (on_log.IsFunction()) on_log_ = Napi::Persistent(on_log.As<Napi::Function>());
  Napi::Value on_done = o.Get("onDone");
  if (on_done.IsFunction()) on_done_ = Napi::Persistent(on_done.As<Napi::Function>());
  Napi::Value on_stream = o.Get("onStream");
  if (on_stream.IsFunction()) on_stream_ = Napi::Persistent(on_stream.As<Napi::Function>());
  Napi::Value on_script = o.Get("onScript");
  if (on_script.IsFunction()) on_script_ = Napi::Persistent(on_script.As<Napi::Function>());
  Napi::Value on_slow = o.Get("onSlow");
  if (on_slow.IsFunction()) on_slow_ = Napi::Persistent(on_slow.As<Napi::Function>());
  Napi::Value scripts = o.Get("workerScripts");
  threads_ = config_.workers;
  if (scripts.IsArray()) {
    Napi::Array arr = scripts.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Object so = arr.Get(i).As<Napi::Object>();
      WorkerScript ws;
      ws.filename = str(so, "filename");
      ws.name = str(so, "name");
      ws.document_root = str(so, "documentRoot");
      ws.threads = static_cast<int>(num(so, "threads", 1));
      ws.max_requests = static_cast<uint64_t>(num(so, "maxRequests", 0));
      ws.max_memory = static_cast<size_t>(num(so, "maxMemory", 0));
      ws.max_failures = static_cast<int>(num(so, "maxFailures", 6));
      if (ws.filename.empty() || ws.threads < 1 || ws.max_failures < 1) {
        Napi::TypeError::New(env, "workerScripts[]: filename, threads >= 1 and maxFailures >= 1")
            .ThrowAsJavaScriptException();
        return;
      }
      threads_ += ws.threads;
      config_.scripts.push_back(std::move(ws));
    }
  }
  if (config_.workers < 1 || threads_ > 1024) {
    Napi::RangeError::New(env, "workers must be at least 1, and the threads at most 1024 in all")
        .ThrowAsJavaScriptException();
  }
}

Engine::~Engine() = default;

namespace {
// glibc raises its mmap threshold (from 128 KiB up to 32 MiB) each time a mapped block is freed,
// so request bodies and buffers of a few hundred KB to a few MB then come from the arenas, which
// fragment and keep their pages: 2,000 uploads of 1 MB, 20 at a time, left the server process
// at 280 MiB PSS (and growing), 147 MiB (steady after the first 500) with the threshold fixed.
// A fixed threshold sends those blocks to mmap, given back at free. The user's own setting
// (GLIBC_TUNABLES=glibc.malloc.mmap_threshold=..., MALLOC_MMAP_THRESHOLD_) wins.
void FixMmapThreshold() {
  const char* tunables = getenv("GLIBC_TUNABLES");
  if (getenv("MALLOC_MMAP_THRESHOLD_") || (tunables && strstr(tunables, "mmap_threshold"))) return;
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}
}  // namespace

Napi::Value Engine::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  start_deferred_.emplace(Napi::Promise::Deferred::New(env));
  Napi::Promise promise = start_deferred_->Promise();
  if (phase_ != Phase::kNew) {
    start_deferred_->Reject(Napi::Error::New(env, "the engine was already started").Value());
    return promise;
  }
  if (attached_) return Attach(env);
  if (php_in_use.exchange(true)) {
    start_deferred_->Reject(
        Napi::Error::New(env,
                         "PHP is already running in this process: one Engine at a time (shut the other down first)")
            .Value());
    phase_ = Phase::kStopped;
    return promise;
  }
  FixMmapThreshold();
  tsfn_ = Tsfn::New(env, "tokio-php", 0, 1, this);
  owned_pool_ = std::make_unique<WorkerPool>(config_, this);
  pool_ = owned_pool_.get();
  Ref();  // PHP threads call back into this object until kStopped: it must outlive them
  startup_log_engine.store(this);
  std::string error;
  phase_ = Phase::kStarting;
  // before the pool's threads, which stop it (OnStopped)
  if (slowlog_ms_ > 0) {
    slowlog_ = std::make_unique<Slowlog>(pool_, std::chrono::milliseconds(slowlog_ms_), [this](SlowRequest slow) {
      auto* e = new Event(Event::kSlow);
      e->slow = std::make_unique<SlowRequest>(std::move(slow));
      Post(e);
    });
  }
  if ((slowlog_ && !slowlog_->Start(&error)) || !pool_->Start(&error)) {
    slowlog_.reset();
    phase_ = Phase::kStopped;
    php_in_use.store(false);
    tsfn_.Release();
    Unref();
    start_deferred_->Reject(Napi::Error::New(env, error).Value());
  }
  return promise;
}

// start() of an attached engine: the pool of the engine that runs PHP in this process, answering
// through this engine's own thread-safe function.
Napi::Value Engine::Attach(Napi::Env env) {
  std::lock_guard<std::mutex> lock(primary_mutex);
  if (!primary) {
    phase_ = Phase::kStopped;
    start_deferred_->Reject(
        Napi::Error::New(env, "no engine runs PHP in this process: start one before attaching").Value());
    return start_deferred_->Promise();
  }
  pool_ = primary->pool_;
  config_ = primary->config_;
  threads_ = primary->threads_;
  info_ = primary->info_;
  tsfn_ = Tsfn::New(env, "tokio-php-channel", 0, 1, this);
  Ref();  // PHP threads answer through this object until it is detached
  phase_ = Phase::kRunning;
  Track(env, 0);
  start_deferred_->Resolve(Info(env));
  return start_deferred_->Promise();
}

Napi::Object Engine::Info(Napi::Env env) const {
  Napi::Object info = Napi::Object::New(env);
  info.Set("phpVersion", info_.php_version);
  info.Set("sapiName", info_.sapi_name);
  info.Set("zts", Napi::Boolean::New(env, info_.zts));
  info.Set("opcache", Napi::Boolean::New(env, info_.opcache));
  info.Set("executionTimeClock", info_.cpu_time_timeouts ? "cpu" : "wall");
  info.Set("umaskPerThread", Napi::Boolean::New(env, info_.umask_per_thread != 0));
  info.Set("workers", config_.workers);
  info.Set("threads", threads_);
  return info;
}

// execute(id, wire, text, body, flags, contentLength, requestTime, heartbeatMaxMs, cgi, fcgiFd, fcgiRequestId, fcgiHeaders)
//   flags >> 8: 0 a classic script, 1 + k worker script k
//   wire: latin1, NUL-joined: WireField values, then header name, value, ...
//   text: UTF-8, NUL-joined: TextField values, then $_SERVER name, value, ...
//   (either a string, or an array of the strings it joins: read one by one, nothing joined in JS)
//   body: a Buffer, null, or the descriptor of a spooled body of contentLength bytes, read until
//         onDone (the caller closes it then, or when this call throws)
//   flags: 1 https, 2 streaming (parts go to onStream), 4 the client accepts text/event-stream
//   cgi: FastCGI's PARAMS as the front sent them (name-value pairs), $_SERVER's entries before
//        text's, as bytes: no string made of each in JS
//   fcgiFd, fcgiRequestId, fcgiHeaders: a FastCGI connection lent for the PHP thread to answer
//        on (fcgi_answer.h), the request's id on it, and the headers JS adds [name, value, ...]
// The answer comes through onDone(id, ...).
Napi::Value Engine::Execute(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto owner = std::make_unique<Job>();
  if (info.Length() > 3 && info[3].IsNumber()) owner->body_fd = info[3].As<Napi::Number>().Int32Value();
  if (phase_ != Phase::kRunning || (attached_ && !primary)) {
    Napi::Error::New(env, "the engine is not running").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto strings = [](const Napi::Value& v) { return v.IsString() || v.IsArray(); };
  if (info.Length() < 8 || !info[0].IsNumber() || !strings(info[1]) || !strings(info[2])) {
    Napi::TypeError::New(env, "execute(id, wire, text, body, flags, contentLength, requestTime, heartbeatMaxMs)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* job = owner.release();
  job->id = info[0].As<Napi::Number>().Uint32Value();
  job->engine = this;
  job->arena.reserve(2048);
  // reserved here so the worker fills them without allocating (freed on this thread)
  job->header_blob.reserve(512);
  job->header_ends.reserve(16);

  std::vector<std::pair<size_t, size_t>> wire, text;
  wire.reserve(kWireFieldCount + 32);
  AppendJoined(env, info[1], false, job->arena);
  size_t wire_end = job->arena.size() - 1;
  AppendJoined(env, info[2], true, job->arena);
  Split(job->arena, 0, wire_end, wire);
  Split(job->arena, wire_end + 1, job->arena.size() - 1, text);
  std::vector<std::pair<size_t, size_t>> cgi;
  if (info.Length() > 8 && info[8].IsBuffer()) {
    Napi::Buffer<uint8_t> params = info[8].As<Napi::Buffer<uint8_t>>();
    AppendPairs(params.Data(), params.Length(), job->arena, cgi);
  }
  if (wire.size() < kWireFieldCount || text.size() < kTextFieldCount) {
    delete job;
    Napi::TypeError::New(env, "execute(): wire or text has too few fields").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto headers_begin = wire.begin() + kWireFieldCount;
  size_t header_fields = (wire.size() - kWireFieldCount) & ~size_t(1);

  // PHP reads one Cookie string: several Cookie lines are joined as browsers and nginx do.
  std::pair<size_t, size_t> cookie{0, 0};
  bool has_cookie = false;
  for (size_t i = 0; i + 1 < header_fields; i += 2) {
    auto name = headers_begin[i], value = headers_begin[i + 1];
    if (name.second != 6 || strncasecmp(job->arena.data() + name.first, "cookie", 6) != 0) continue;
    if (!has_cookie) {
      cookie = value;
      has_cookie = true;
      continue;
    }
    std::string joined(job->arena, cookie.first, cookie.second);
    joined.append("; ").append(job->arena, value.first, value.second);
    cookie = {job->arena.size(), joined.size()};
    job->arena.append(joined).push_back('\0');
  }

  // FastCGI: the params are the headers (HTTP_*); PHP's own reading needs only these of them
  std::pair<size_t, size_t> content_type{0, 0}, authorization{0, 0};
  for (size_t i = 0; i + 1 < cgi.size(); i += 2) {
    std::string_view name(job->arena.data() + cgi[i].first, cgi[i].second);
    if (name == "CONTENT_TYPE") content_type = cgi[i + 1];
    if (name == "HTTP_AUTHORIZATION") authorization = cgi[i + 1];
    if (name == "HTTP_COOKIE") {
      cookie = cgi[i + 1];
      has_cookie = true;
    }
  }

  // The arena is complete: now its pointers are stable.
  const char* base = job->arena.data();
  auto s = [&](std::pair<size_t, size_t> p) { return tokio_str{base + p.first, p.second}; };
  for (size_t i = 0; i < header_fields; i++) job->headers.push_back(s(headers_begin[i]));
  if (!cgi.empty()) {
    job->request.cgi = 1;
    if (content_type.first) job->headers.insert(job->headers.end(), {{"content-type", 12}, s(content_type)});
    if (authorization.first) job->headers.insert(job->headers.end(), {{"authorization", 13}, s(authorization)});
  }
  job->server_vars.reserve(cgi.size() + text.size() - kTextFieldCount);
  for (auto pair : cgi) job->server_vars.push_back(s(pair));
  for (size_t i = kTextFieldCount; i < text.size(); i++) job->server_vars.push_back(s(text[i]));
  if (job->server_vars.size() % 2) job->server_vars.pop_back();
  if (has_cookie) job->cookies = base + cookie.first;

  tokio_request& r = job->request;
  r.method = s(wire[kMethod]);
  r.request_uri = s(wire[kRequestUri]);
  r.query_string = s(wire[kQueryString]);
  r.protocol = s(wire[kProtocol]);
  r.request_id = s(wire[kRequestId]);
  r.server_name = s(wire[kServerName]);
  r.server_addr = s(wire[kServerAddr]);
  r.server_port = s(wire[kServerPort]);
  r.remote_addr = s(wire[kRemoteAddr]);
  r.remote_port = s(wire[kRemotePort]);
  r.script_filename = s(text[kScriptFilename]);
  r.script_name = s(text[kScriptName]);
  r.path_info = s(text[kPathInfo]);
  r.document_root = s(text[kDocumentRoot]);
  r.php_value = s(text[kPhpValue]);
  r.php_admin_value = s(text[kPhpAdminValue]);
  r.headers = job->headers.data();
  r.header_count = job->headers.size() / 2;
  r.server_vars = job->server_vars.data();
  r.server_var_count = job->server_vars.size() / 2;

  if (info[3].IsBuffer()) {
    Napi::Buffer<char> body = info[3].As<Napi::Buffer<char>>();
    job->body = body.Data();
    job->body_len = body.Length();
    job->body_ref = Napi::Persistent(info[3]);
  }
  uint32_t flags = info[4].IsNumber() ? info[4].As<Napi::Number>().Uint32Value() : 0;
  r.https = flags & 1;
  job->target = static_cast<int>(flags >> 8);
  if (static_cast<size_t>(job->target) > config_.scripts.size()) {
    delete job;
    Napi::RangeError::New(env, "execute(): no such worker script").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  job->streaming = (flags & 2) && !on_stream_.IsEmpty();
  r.event_stream = (flags & 4) ? 1 : 0;
  r.event_loop = channel_;
  r.content_length = info[5].IsNumber() ? info[5].As<Napi::Number>().Int64Value() : -1;
  if (job->body_fd >= 0 && r.content_length > 0) job->body_len = static_cast<size_t>(r.content_length);
  r.request_time = info[6].IsNumber() ? info[6].As<Napi::Number>().DoubleValue() : Now();
  r.heartbeat_max_ms = info[7].IsNumber() ? info[7].As<Napi::Number>().Int64Value() : 0;
  if (job->streaming) streams_[job->id] = job;
  if (info.Length() > 11 && info[9].IsNumber() && info[11].IsArray()) {
    job->fcgi_fd = info[9].As<Napi::Number>().Int32Value();
    job->fcgi_request = static_cast<uint16_t>(info[10].As<Napi::Number>().Uint32Value());
    Napi::Array extra = info[11].As<Napi::Array>();
    for (uint32_t i = 0; i < extra.Length(); i++) job->fcgi_extra.push_back(extra.Get(i).ToString().Utf8Value());
    lent_[job->id] = job;
  }

  Track(env, +1);
  pool_->Submit(job);
  return env.Undefined();
}

Napi::Value Engine::Abort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!pool_ || !info[0].IsNumber()) return Napi::Boolean::New(env, false);
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  int reason = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : TOKIO_ABORT_KILL;
  tokio_abort r = reason == TOKIO_ABORT_DISCONNECT ? TOKIO_ABORT_DISCONNECT : TOKIO_ABORT_KILL;
  Job* dequeued = nullptr;
  bool found = pool_->Abort(id, r, &dequeued);
  if (dequeued) {
    // never ran: answered here, nothing to stop
    dequeued->result.aborted = r;
    dequeued->status = 0;
    Complete(env, dequeued);
  }
  return Napi::Boolean::New(env, found);
}

// claim(id) -> true: JS answers the request, and its PHP thread will not (it had a lent FastCGI
// connection); false: the PHP thread answers, or has
Napi::Value Engine::Claim(const Napi::CallbackInfo& info) {
  auto it = lent_.find(info[0].As<Napi::Number>().Uint32Value());
  int unclaimed = Job::kUnclaimed;
  bool js =
      it == lent_.end() || it->second->fcgi_owner.compare_exchange_strong(unclaimed, Job::kJs) || unclaimed == Job::kJs;
  return Napi::Boolean::New(info.Env(), js);
}

// runningFor(id) -> ms since a worker took the request; -1 while queued or once done
Napi::Value Engine::RunningFor(const Napi::CallbackInfo& info) {
  int64_t ms = pool_ ? pool_->RunningFor(info[0].As<Napi::Number>().Uint32Value()) : -1;
  return Napi::Number::New(info.Env(), static_cast<double>(ms));
}

// ack(id, bytes): the socket took `bytes` more of a streamed response
Napi::Value Engine::Ack(const Napi::CallbackInfo& info) {
  auto it = streams_.find(info[0].As<Napi::Number>().Uint32Value());
  if (it != streams_.end()) {
    Job* job = it->second;
    size_t bytes = static_cast<size_t>(info[1].As<Napi::Number>().Int64Value());
    std::lock_guard<std::mutex> lock(job->stream_mutex);
    job->unacked = bytes > job->unacked ? 0 : job->unacked - bytes;
    job->stream_cv.notify_all();
  }
  return info.Env().Undefined();
}

// A body's memory goes back when the socket has taken its bytes, not when the GC finds the Buffer:
// under load thousands of them wait for a collection (64 KB bodies held 64 MB). Detaching runs
// the finalizer that frees it; the Buffer reads as empty from then on.
Napi::Value Engine::ReleaseBody(const Napi::CallbackInfo& info) {
  if (info[0].IsTypedArray()) {
    Napi::ArrayBuffer bytes = info[0].As<Napi::TypedArray>().ArrayBuffer();
    if (!bytes.IsDetached()) bytes.Detach();
  }
  return info.Env().Undefined();
}

Napi::Value Engine::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  size_t queued = 0;
  bool full = info.Length() > 0 && info[0].ToBoolean();
  std::vector<WorkerStats> stats = pool_ ? pool_->Stats(&queued, full) : std::vector<WorkerStats>();
  auto now = std::chrono::steady_clock::now();
  Napi::Array workers = Napi::Array::New(env, stats.size());
  for (size_t i = 0; i < stats.size(); i++) {
    Napi::Object w = Napi::Object::New(env);
    w.Set("id", stats[i].index);
    w.Set("state", WorkerStateName(stats[i].state));
    w.Set("requests", static_cast<double>(stats[i].requests));
    w.Set("threads", static_cast<double>(stats[i].generation));
    w.Set("replaced", static_cast<double>(stats[i].replaced));
    w.Set("peakMemory", static_cast<double>(stats[i].last_peak_memory));
    if (stats[i].current_job) w.Set("job", stats[i].current_job);
    if (stats[i].script >= 0) {
      w.Set("script", stats[i].script);
      w.Set("failures", stats[i].failures);
    }
    if (full) {
      const RequestFacts& f = stats[i].facts;
      w.Set("tid", stats[i].tid);
      w.Set("startedAt", static_cast<double>(stats[i].started_ms));
      w.Set("threadRequests", static_cast<double>(stats[i].thread_requests));
      Napi::Object r = Napi::Object::New(env);
      r.Set("method", f.method);
      r.Set("uri", f.uri);
      r.Set("script", f.script);
      r.Set("user", f.user);
      r.Set("contentLength", static_cast<double>(f.content_length));
      r.Set("running", f.running);
      r.Set("durationUs", static_cast<double>(
                              f.running ? std::chrono::duration_cast<std::chrono::microseconds>(now - f.started).count()
                                        : f.duration_us));
      r.Set("cpuPercent", f.cpu_percent);
      r.Set("memory", static_cast<double>(f.memory));
      w.Set("request", r);
    }
    workers.Set(static_cast<uint32_t>(i), w);
  }
  out.Set("queued", static_cast<double>(queued));
  out.Set("inFlight", in_flight_);
  out.Set("workers", workers);
  return out;
}

// restartScripts(reason) -> the worker-script threads that will restart, one at a time
Napi::Value Engine::RestartScripts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!pool_ || phase_ != Phase::kRunning) return Napi::Number::New(env, 0);
  // reasons are kept as pointers for the life of the pool: only these
  static const char* const kReasons[] = {"reload", "watch"};
  std::string asked = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "reload";
  const char* reason = asked == "watch" ? kReasons[1] : kReasons[0];
  return Napi::Number::New(env, pool_->RestartScripts(reason));
}

Napi::Value Engine::Shutdown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (stop_deferred_) return stop_deferred_->Promise();
  stop_deferred_.emplace(Napi::Promise::Deferred::New(env));
  Napi::Promise promise = stop_deferred_->Promise();
  if (phase_ == Phase::kNew || phase_ == Phase::kStopped) {
    phase_ = Phase::kStopped;
    stop_deferred_->Resolve(env.Undefined());
    return promise;
  }
  phase_ = Phase::kStopping;
  if (attached_) {
    // its PHP threads may still answer requests in flight: detached after the last one
    if (in_flight_ == 0) Detached();
    return promise;
  }
  {
    std::lock_guard<std::mutex> lock(primary_mutex);
    if (primary == this) primary = nullptr;
  }
  // the pool must be able to tell JS it stopped, even when nothing else is pending
  if (!tsfn_referenced_) {
    tsfn_.Ref(env);
    tsfn_referenced_ = true;
  }
  pool_->Stop();
  return promise;
}

// An attached engine with nothing in flight lets go of its thread-safe function and itself.
void Engine::Detached() {
  phase_ = Phase::kStopped;
  tsfn_.Release();
  Unref();
  stop_deferred_->Resolve(Env().Undefined());
}

// ---- PHP threads -> JS thread ----

void Engine::Post(Event* event) {
  if (tsfn_.BlockingCall(event) != napi_ok) {
    event->chunk.release();
    delete event;
  }
}

void Engine::OnStarted(const tokio_info* info, const std::string& error) {
  auto* e = new Event(Event::kStarted);
  e->ok = info != nullptr;
  if (info) e->info = *info;
  e->text = error;
  Post(e);
}

void Engine::OnJobDone(Job* job) {
  if (job->fcgi_fd >= 0) AnswerFastCgi(job);
  auto* e = new Event(Event::kDone);
  e->job = job;
  job->engine->Post(e);  // the engine that submitted it: its JS thread answers
}

void Engine::OnScript(const ScriptEvent& event) {
  auto* e = new Event(Event::kScript);
  e->script = event;
  Post(e);
}

void Engine::OnStopped() {
  slowlog_.reset();  // nothing is reported after kStopped
  Post(new Event(Event::kStopped));
}

void Engine::Track(Napi::Env env, int delta) {
  in_flight_ += delta;
  if (attached_ && phase_ == Phase::kStopping) {
    if (in_flight_ == 0) Detached();
    return;
  }
  // the loop stays alive while PHP works for it, and no longer
  bool want = in_flight_ > 0 || phase_ == Phase::kStarting || phase_ == Phase::kStopping;
  if (want && !tsfn_referenced_) tsfn_.Ref(env);
  if (!want && tsfn_referenced_) tsfn_.Unref(env);
  tsfn_referenced_ = want;
}

void Engine::Deliver(Napi::Env env, Napi::Function, Engine* self, Event* event) {
  std::unique_ptr<Event> e(event);
  if (!env) {  // the environment is going away
    e->chunk.release();
    if (e->job) delete e->job;
    return;
  }
  Napi::HandleScope scope(env);
  switch (e->kind) {
    case Event::kStarted: {
      if (e->ok) {
        self->phase_ = Phase::kRunning;
        self->info_ = e->info;
        {
          std::lock_guard<std::mutex> lock(primary_mutex);
          primary = self;
        }
        self->start_deferred_->Resolve(self->Info(env));
      } else {
        self->phase_ = Phase::kStopping;
        self->start_deferred_->Reject(Napi::Error::New(env, "PHP failed to start: " + e->text).Value());
      }
      self->Track(env, 0);
      break;
    }
    case Event::kLog: {
      if (!self->on_log_.IsEmpty()) {
        self->on_log_.Call({Napi::Number::New(env, e->level), Napi::String::New(env, e->text),
                            e->job ? Napi::String::New(env, e->job->request.request_id.ptr) : env.Undefined()});
      }
      break;
    }
    case Event::kHeaders:
    case Event::kHints:
    case Event::kChunk:
    case Event::kFinish:
    case Event::kHeartbeat: self->DeliverStream(env, e.get()); break;
    case Event::kDone: self->Complete(env, e->job); break;
    case Event::kScript: {
      // onScript(worker, script, ended, reason, exitStatus, failures, requests, bootMs)
      const ScriptEvent& s = e->script;
      if (!self->on_script_.IsEmpty()) {
        self->on_script_.Call(
            {Napi::Number::New(env, s.worker), Napi::Number::New(env, s.script), Napi::Boolean::New(env, s.ended),
             s.reason ? Napi::Value(Napi::String::New(env, s.reason)) : env.Null(),
             Napi::Number::New(env, s.exit_status), Napi::Number::New(env, s.failures),
             Napi::Number::New(env, static_cast<double>(s.requests)), Napi::Number::New(env, s.boot_ms)});
      }
      break;
    }
    case Event::kSlow: {
      // onSlow(worker, tid, requestId, method, uri, script, elapsedMs, trace)
      const SlowRequest& s = *e->slow;
      const RunningRequest& r = s.request;
      auto latin1 = [&env](const std::string& v) {
        napi_value out;
        napi_create_string_latin1(env, v.data(), v.size(), &out);
        return Napi::Value(env, out);
      };
      if (!self->on_slow_.IsEmpty()) {
        self->on_slow_.Call({Napi::Number::New(env, r.worker), Napi::Number::New(env, r.tid), latin1(r.request_id),
                             latin1(r.method), latin1(r.uri), Napi::String::New(env, r.script),
                             Napi::Number::New(env, s.elapsed_ms), Napi::String::New(env, s.trace)});
      }
      break;
    }
    case Event::kStopped: {
      self->phase_ = Phase::kStopped;
      startup_log_engine.store(nullptr);
      php_in_use.store(false);
      self->tsfn_.Release();
      self->Unref();
      if (self->stop_deferred_) self->stop_deferred_->Resolve(env.Undefined());
      break;
    }
  }
  if (env.IsExceptionPending()) {
    // a throwing JS hook must not take the engine down; surface it as an uncaught error
    Napi::Error err = env.GetAndClearPendingException();
    napi_fatal_exception(env, err.Value());
  }
}

// onStream(id, 'headers', status, reason, headers, eventStream) | (id, 'hints', status, headers)
//   | (id, 'chunk', buffer)
//   | (id, 'finish', status, reason, headers, body) | (id, 'heartbeat', ms)
void Engine::DeliverStream(Napi::Env env, Event* e) {
  Job* job = e->job;
  Napi::Number id = Napi::Number::New(env, job->id);
  switch (e->kind) {
    case Event::kHeaders:
      on_stream_.Call({id, Napi::String::New(env, "headers"), Napi::Number::New(env, job->status),
                       Napi::String::New(env, job->reason), HeaderPairs(env, job->header_blob, job->header_ends),
                       Napi::Boolean::New(env, job->event_stream)});
      break;
    case Event::kHints:
      on_stream_.Call(
          {id, Napi::String::New(env, "hints"), Napi::Number::New(env, e->level), HeaderPairs(env, e->text, e->ends)});
      break;
    case Event::kChunk: on_stream_.Call({id, Napi::String::New(env, "chunk"), ToBuffer(env, e->chunk)}); break;
    case Event::kFinish:
      on_stream_.Call({id, Napi::String::New(env, "finish"), Napi::Number::New(env, job->status),
                       Napi::String::New(env, job->reason), HeaderPairs(env, job->header_blob, job->header_ends),
                       ToBuffer(env, e->chunk)});
      break;
    case Event::kHeartbeat:
      on_stream_.Call({id, Napi::String::New(env, "heartbeat"), Napi::Number::New(env, static_cast<double>(e->ms))});
      break;
    default: break;
  }
}

static double Milliseconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// onDone(id, status, reason, headers, body, exitStatus, aborted, streamed, finished, worker,
//        peakMemory, outputFailed, queueMs, execMs, answeredBytes): positional, so no result
//        object is built here. answeredBytes >= 0: the PHP thread wrote the response (headers and
//        body are then empty), with a body of that many bytes.
void Engine::Complete(Napi::Env env, Job* job) {
  std::unique_ptr<Job> owned(job);
  if (job->fcgi_fd >= 0) lent_.erase(job->id);
  OutputBlock body = job->output.take();
  bool output_failed = job->output.failed();
  int status = output_failed ? 500 : job->status;
  const char* aborted = job->result.aborted == TOKIO_ABORT_KILL         ? "kill"
                        : job->result.aborted == TOKIO_ABORT_DISCONNECT ? "disconnect"
                                                                        : nullptr;
  bool ran = job->worker >= 0;  // a request aborted while queued never ran
  napi_value args[] = {
      Napi::Number::New(env, job->id),
      Napi::Number::New(env, status),
      Napi::String::New(env, job->reason),
      job->answered_bytes >= 0 ? Napi::Array::New(env) : HeaderPairs(env, job->header_blob, job->header_ends),
      ToBuffer(env, body),
      Napi::Number::New(env, job->result.exit_status),
      aborted ? Napi::Value(Napi::String::New(env, aborted)) : env.Null(),
      Napi::Boolean::New(env, job->streamed_headers),
      Napi::Boolean::New(env, job->finished),
      Napi::Number::New(env, job->worker),
      Napi::Number::New(env, static_cast<double>(job->result.peak_memory)),
      Napi::Boolean::New(env, output_failed),
      Napi::Number::New(env, Milliseconds((ran ? job->started : std::chrono::steady_clock::now()) - job->submitted)),
      Napi::Number::New(env, ran ? Milliseconds(job->ended - job->started) : 0),
      Napi::Number::New(env, static_cast<double>(job->answered_bytes)),
  };
  if (job->streaming) streams_.erase(job->id);
  if (!job->body_ref.IsEmpty()) job->body_ref.Reset();
  Track(env, -1);
  on_done_.Value().Call(sizeof(args) / sizeof(args[0]), args);
}

}  // namespace tokio

// ---- SAPI host callbacks: on the worker thread, inside PHP; never throw ----

using tokio::Event;
using tokio::Job;

extern "C" size_t tokio_host_read_body(void* host, char* buffer, size_t count) {
  auto* job = static_cast<Job*>(host);
  size_t left = job->body_len - job->body_read;
  size_t n = count < left ? count : left;
  if (n == 0) return 0;
  if (job->body_fd >= 0) {
    ssize_t got = pread(job->body_fd, buffer, n, static_cast<off_t>(job->body_read));
    n = got > 0 ? static_cast<size_t>(got) : 0;
  } else {
    std::memcpy(buffer, job->body + job->body_read, n);
  }
  job->body_read += n;
  return n;
}

extern "C" const char* tokio_host_cookies(void* host) { return static_cast<Job*>(host)->cookies; }

namespace {

// Hands what the script wrote so far to JS as a chunk (headers first), then waits while JS has
// more than a window of it not yet taken by the socket: a slow reader holds the PHP thread,
// not memory. false when the client is gone.
bool StreamOut(Job* job) {
  if (!job->streamed_headers) {
    job->streamed_headers = true;
    job->engine->Post(new Event(Event::kHeaders, job));
  }
  size_t size = job->output.size();
  if (size > 0) {
    auto* e = new Event(Event::kChunk, job);
    e->chunk = job->output.take_owned();  // the script writes on meanwhile
    std::unique_lock<std::mutex> lock(job->stream_mutex);
    job->unacked += size;
    lock.unlock();
    job->engine->Post(e);
    lock.lock();
    job->stream_cv.wait(
        lock, [job] { return job->unacked <= Job::kStreamWindow || job->client_gone.load() || job->killed.load(); });
  }
  return !job->client_gone.load(std::memory_order_relaxed);
}

}  // namespace

extern "C" int tokio_host_write(void* host, const char* data, size_t len) {
  auto* job = static_cast<Job*>(host);
  if (job->finished) return 1;  // after tokio_finish_request(): dropped, the script goes on
  if (job->client_gone.load(std::memory_order_relaxed)) return 0;
  // a failed capture is answered 500 on completion (OutputBuffer::failed)
  if (!job->output.append(data, len)) return 0;
  if (job->event_stream && job->streaming && job->headers_sent) return StreamOut(job) ? 1 : 0;
  return 1;
}

extern "C" int tokio_host_send_headers(void* host, int status, tokio_str reason, const tokio_str* lines, size_t count,
                                       int event_stream) {
  auto* job = static_cast<Job*>(host);
  job->status = status;
  job->reason.assign(reason.ptr ? reason.ptr : "", reason.len);
  job->header_blob.clear();
  job->header_ends.clear();
  for (size_t i = 0; i < count; i++) {
    job->header_blob.append(lines[i].ptr, lines[i].len);
    job->header_ends.push_back(static_cast<uint32_t>(job->header_blob.size()));
    job->header_blob.push_back('\0');
  }
  job->headers_sent = true;
  job->event_stream = event_stream != 0;
  return 1;
}

extern "C" void tokio_host_send_hints(void* host, int status, const tokio_str* lines, size_t count) {
  auto* job = static_cast<Job*>(host);
  // only while the final response has not begun, and to a client that is still there
  if (!job->streaming || job->finished || job->headers_sent || job->client_gone.load(std::memory_order_relaxed)) return;
  auto* e = new Event(Event::kHints, job);
  e->level = status;
  for (size_t i = 0; i < count; i++) {
    e->text.append(lines[i].ptr, lines[i].len);
    e->ends.push_back(static_cast<uint32_t>(e->text.size()));
    e->text.push_back('\0');
  }
  job->engine->Post(e);
}

extern "C" int tokio_host_flush(void* host) {
  auto* job = static_cast<Job*>(host);
  if (job->finished) return 1;
  if (job->streaming && job->headers_sent) return StreamOut(job) ? 1 : 0;
  return job->client_gone.load(std::memory_order_relaxed) ? 0 : 1;
}

extern "C" void tokio_host_finish(void* host) {
  auto* job = static_cast<Job*>(host);
  job->finished = true;
  if (!job->streaming) return;  // nobody to answer early: the response goes at the end, as it was now
  auto* e = new Event(Event::kFinish, job);
  e->chunk = job->output.take_owned();  // the script runs on, and may still write (dropped)
  job->engine->Post(e);
}

extern "C" void tokio_host_heartbeat(void* host, int64_t ms) {
  auto* job = static_cast<Job*>(host);
  if (!job->streaming) return;
  auto* e = new Event(Event::kHeartbeat, job);
  e->ms = ms;
  job->engine->Post(e);
}

extern "C" void tokio_host_log(void* host, int level, const char* message, size_t len) {
  auto* job = static_cast<Job*>(host);
  tokio::Engine* engine = job ? job->engine : tokio::startup_log_engine.load();
  if (!engine) {
    fprintf(stderr, "%.*s\n", static_cast<int>(len), message);
    return;
  }
  auto* e = new Event(Event::kLog, job);
  e->level = level;
  e->text.assign(message, len);
  engine->Post(e);
}
