#include "fcgi_connections.h"

#include "protocol.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>

namespace tokio {

using namespace fcgi;  // NOLINT(build/namespaces): the protocol's names, in the file that speaks it

namespace {

enum ProtocolStatus : uint8_t { kCantMpxConn = 1, kUnknownRole = 3 };
constexpr uint16_t kResponder = 1;
constexpr uint8_t kKeepConn = 1;
// past this much unwritten, write() says so and a drain event follows, as a Node socket does
constexpr size_t kHighWater = 64 * 1024;

void Header(std::string& out, uint8_t type, uint16_t request_id, uint16_t length) {
  uint8_t h[kHeader];
  RecordHeader(h, type, request_id, length);
  out.append(reinterpret_cast<const char*>(h), kHeader);
}

std::string EndRequest(uint16_t request_id, uint8_t protocol_status) {
  uint8_t end[kEndRequestLength];
  EndRequestRecord(end, request_id, protocol_status);
  return std::string(reinterpret_cast<const char*>(end), kEndRequestLength);
}

void AppendPair(std::string& out, const std::string& name, const std::string& value) {
  out.push_back(static_cast<char>(name.size()));
  out.push_back(static_cast<char>(value.size()));
  out.append(name).append(value);
}

}  // namespace

bool FcgiInbox::Put(int fd) {
  std::lock_guard<std::mutex> lock(mutex);
  if (epoll_fd < 0) return false;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTag | static_cast<uint32_t>(fd);
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  waiting.insert(fd);
  return true;
}

bool FcgiInbox::Take(int fd) {
  std::lock_guard<std::mutex> lock(mutex);
  return waiting.erase(fd) > 0;
}

void FcgiConnections::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "FcgiConnections",
                                   {
                                       InstanceMethod<&FcgiConnections::Adopt>("adopt"),
                                       InstanceMethod<&FcgiConnections::Write>("write"),
                                       InstanceMethod<&FcgiConnections::Finish>("finish"),
                                       InstanceMethod<&FcgiConnections::Lend>("lend"),
                                       InstanceMethod<&FcgiConnections::Release>("release"),
                                       InstanceMethod<&FcgiConnections::CloseAll>("close"),
                                   });
  exports.Set("FcgiConnections", cls);
}

// new FcgiConnections(onEvent)
FcgiConnections::FcgiConnections(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FcgiConnections>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) {
    Napi::TypeError::New(env, "FcgiConnections(onEvent)").ThrowAsJavaScriptException();
    return;
  }
  on_event_ = Napi::Persistent(info[0].As<Napi::Function>());
  napi_get_uv_event_loop(env, &loop_);
  napi_value name = Napi::String::New(env, "tokio-php FastCGI");
  napi_async_init(env, nullptr, name, &async_context_);
  napi_add_env_cleanup_hook(env, Teardown, this);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  epoll_poll_ = new uv_poll_t();
  if (epoll_fd_ < 0 || uv_poll_init(loop_, epoll_poll_, epoll_fd_) != 0) {
    delete epoll_poll_;
    epoll_poll_ = nullptr;
    Napi::Error::New(env, std::string("FcgiConnections: no epoll set: ") + strerror(errno))
        .ThrowAsJavaScriptException();
    return;
  }
  epoll_poll_->data = this;
  uv_poll_start(epoll_poll_, UV_READABLE, OnEpoll);
  polling_ = true;
  resume_ = new uv_idle_t();
  uv_idle_init(loop_, resume_);
  resume_->data = this;
  inbox_->epoll_fd = epoll_fd_;
}

// A thread's environment ending with connections open (a worker_thread terminated before its
// transport closed): they close, and their handles are gone before Node closes the loop.
void FcgiConnections::Teardown(void* self) {
  auto* connections = static_cast<FcgiConnections*>(self);
  if (!connections->polling_) return;
  connections->CloseEvery();
  uv_run(connections->loop_, UV_RUN_NOWAIT);  // the epoll set's close callback
}

void FcgiConnections::CloseEvery() {
  std::vector<Conn*> all;
  for (auto& [id, c] : conns_) all.push_back(c);
  for (Conn* c : all) Close(c, false, nullptr);
  for (auto& [id, c] : gone_) {
    close(c->fd);
    delete c;
  }
  gone_.clear();
  {
    std::lock_guard<std::mutex> lock(inbox_->mutex);
    for (int fd : inbox_->waiting) close(fd);
    inbox_->waiting.clear();
    inbox_->epoll_fd = -1;
  }
  if (!polling_) return;
  polling_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(epoll_poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  uv_close(reinterpret_cast<uv_handle_t*>(resume_), [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
  close(epoll_fd_);
}

FcgiConnections::~FcgiConnections() {
  CloseEvery();  // if close() never ran
  napi_remove_env_cleanup_hook(Env(), Teardown, this);
  if (async_context_) napi_async_destroy(Env(), async_context_);
}

FcgiConnections::Conn* FcgiConnections::Find(const Napi::Value& id) {
  if (!id.IsNumber()) return nullptr;
  uint32_t key = id.As<Napi::Number>().Uint32Value();
  auto it = conns_.find(key);
  if (it != conns_.end()) return it->second;
  it = gone_.find(key);
  return it == gone_.end() ? nullptr : it->second;
}

// lend(conn) -> its descriptor, for a PHP thread to write the answer on; -1 when it cannot be
// (closing, or bytes still wait to be written)
Napi::Value FcgiConnections::Lend(const Napi::CallbackInfo& info) {
  Conn* c = Find(info[0]);
  bool can = c && !c->gone && !c->closing && c->out.size() == c->out_at;
  if (can) c->lent = true;
  return Napi::Number::New(info.Env(), can ? c->fd : -1);
}

// release(conn): JS answers after all; the PHP thread will not write
Napi::Value FcgiConnections::Release(const Napi::CallbackInfo& info) {
  if (Conn* c = Find(info[0])) TakeBack(c);
  return info.Env().Undefined();
}

void FcgiConnections::TakeBack(Conn* c) {
  if (!c->lent) return;
  c->lent = false;
  if (c->gone) {
    gone_.erase(c->id);
    close(c->fd);
    delete c;
    return;
  }
  if (c->in.empty()) return;
  // not from within this JS call: the next request's events come from the loop, as every other
  to_resume_.push_back(c->id);
  uv_idle_start(resume_, OnResume);
}

void FcgiConnections::OnResume(uv_idle_t* handle) {
  auto* self = static_cast<FcgiConnections*>(handle->data);
  uv_idle_stop(handle);
  Napi::HandleScope scope(self->Env());
  std::vector<uint32_t> ids;
  ids.swap(self->to_resume_);
  for (uint32_t id : ids) {
    auto it = self->conns_.find(id);
    if (it != self->conns_.end() && !it->second->lent) self->Records(it->second);
  }
}

// adopt(fd) -> conn: the connection is served here from now on
Napi::Value FcgiConnections::Adopt(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();  // non-blocking: the gate accepts so
  Conn* c = Serve(fd, EPOLL_CTL_ADD);
  return Napi::Number::New(info.Env(), c ? c->id : 0);
}

FcgiConnections::Conn* FcgiConnections::Serve(int fd, int op) {
  auto* c = new Conn();
  c->owner = this;
  c->id = next_id_++;
  c->fd = fd;
  if (next_id_ == 0) next_id_ = 1;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = c->id;
  if (!polling_ || epoll_ctl(epoll_fd_, op, fd, &ev) != 0) {
    close(fd);
    delete c;
    return nullptr;
  }
  c->events = EPOLLIN;
  conns_[c->id] = c;
  return c;
}

// write(conn, buffer | buffers) -> false once past the high-water mark: a drain event follows
Napi::Value FcgiConnections::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Conn* c = Find(info[0]);
  if (!c || c->gone) return Napi::Boolean::New(env, true);
  iovec iov[64];
  int n = 0;
  auto add = [&](Napi::Value v) {
    if (!v.IsTypedArray()) return;
    auto bytes = v.As<Napi::Uint8Array>();
    if (!bytes.ByteLength()) return;
    if (n == 64) {  // more parts than one writev takes: these first
      Send(c, iov, n);
      n = 0;
    }
    iov[n++] = {bytes.Data(), bytes.ByteLength()};
  };
  if (info[1].IsArray()) {
    Napi::Array parts = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < parts.Length(); i++) add(parts.Get(i));
  } else {
    add(info[1]);
  }
  if (n) Send(c, iov, n);
  if (c->out.size() - c->out_at > kHighWater) c->over_high_water = true;
  return Napi::Boolean::New(env, !c->over_high_water);
}

// What the socket takes now goes in one writev, unless bytes already wait; the rest waits behind them.
void FcgiConnections::Send(Conn* c, const iovec* iov, int n) {
  size_t done = 0;
  if (c->out.size() == c->out_at) {
    c->out.clear();
    c->out_at = 0;
    ssize_t wrote;
    do wrote = writev(c->fd, iov, n);
    while (wrote < 0 && errno == EINTR);
    if (wrote < 0 && errno != EAGAIN) return;  // the reader sees the error (EOF or ECONNRESET) and closes
    done = wrote < 0 ? 0 : static_cast<size_t>(wrote);
  }
  bool queued = false;
  for (int k = 0; k < n; k++) {
    size_t len = iov[k].iov_len;
    if (done >= len) {
      done -= len;
      continue;
    }
    c->out.append(static_cast<const char*>(iov[k].iov_base) + done, len - done);
    done = 0;
    queued = true;
  }
  if (queued) Watch(c, EPOLLIN | EPOLLOUT);
}

void FcgiConnections::Send(Conn* c, const std::string& bytes) {
  iovec one = {const_cast<char*>(bytes.data()), bytes.size()};
  Send(c, &one, 1);
}

// finish(conn, requestId, keepOpen): the request is answered; without keepOpen the connection
// closes once its bytes are written
Napi::Value FcgiConnections::Finish(const Napi::CallbackInfo& info) {
  Conn* c = Find(info[0]);
  if (!c) return info.Env().Undefined();
  int request_id = info[1].As<Napi::Number>().Int32Value();
  if (c->current == request_id) {
    c->current = 0;
    c->dispatched = false;
    c->answered = request_id;
  }
  if ((!info[2].ToBoolean() || c->shut) && !c->gone) {  // a front that shut its side sends no next request
    c->closing = true;
    c->lent = false;
    if (c->out.size() == c->out_at) Close(c, false, nullptr);
    return info.Env().Undefined();
  }
  TakeBack(c);
  return info.Env().Undefined();
}

Napi::Value FcgiConnections::CloseAll(const Napi::CallbackInfo& info) {
  CloseEvery();
  return info.Env().Undefined();
}

void FcgiConnections::Watch(Conn* c, uint32_t events) {
  if (c->shut) events &= ~EPOLLIN;  // at its end: read again, it would wake the loop for ever
  if (c->events == events) return;
  c->events = events;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = c->id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
}

// The epoll set has ready connections: each is served, found by its id (one served before it in
// this round may have closed it).
void FcgiConnections::OnEpoll(uv_poll_t* handle, int status, int) {
  auto* self = static_cast<FcgiConnections*>(handle->data);
  Napi::HandleScope scope(self->Env());
  epoll_event ready[64];
  int n = epoll_wait(self->epoll_fd_, ready, 64, 0);
  for (int i = 0; i < n; i++) {
    uint64_t data = ready[i].data.u64;
    if (data & FcgiInbox::kTag) {  // a connection from the gate's inbox: its first event
      int fd = static_cast<int>(static_cast<uint32_t>(data));
      if (!self->inbox_->Take(fd)) continue;
      if (Conn* c = self->Serve(fd, EPOLL_CTL_MOD)) self->OnReadable(c, ready[i].events);
      continue;
    }
    uint32_t id = static_cast<uint32_t>(data);
    auto it = self->conns_.find(id);
    if (it == self->conns_.end()) continue;
    Conn* c = it->second;
    if (ready[i].events & EPOLLOUT) self->OnWritable(c);
    it = self->conns_.find(id);
    if (it == self->conns_.end()) continue;
    // a hang-up or an error is read as one: read() says which
    if (ready[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) self->OnReadable(c, ready[i].events);
  }
}

void FcgiConnections::OnWritable(Conn* c) {
  while (c->out_at < c->out.size()) {
    ssize_t wrote = write(c->fd, c->out.data() + c->out_at, c->out.size() - c->out_at);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0 && errno == EAGAIN) return;
    if (wrote < 0) return Close(c, true, nullptr);
    c->out_at += static_cast<size_t>(wrote);
  }
  c->out.clear();
  c->out_at = 0;
  if (c->closing) return Close(c, false, nullptr);
  Watch(c, EPOLLIN);
  if (c->over_high_water) {
    c->over_high_water = false;
    Emit(c->id, kEventDrain, 0, nullptr, false);
  }
}

void FcgiConnections::OnReadable(Conn* c, uint32_t events) {
  uint8_t chunk[64 * 1024];
  ssize_t got;
  do got = read(c->fd, chunk, sizeof(chunk));
  while (got < 0 && errno == EINTR);
  if (got < 0 && errno == EAGAIN) return;
  if (got == 0 && !(events & (EPOLLHUP | EPOLLERR)) && c->current && c->stdin_done && !c->shut) {
    // The front shut its side with its request whole: it may still read the answer (cgi-fcgi
    // does this; php-fpm answers it). Reading stops; a hang-up or an error still wakes this. Over
    // TCP a front gone both ways looks the same until something is sent: an empty STDERR (a
    // stream ended at once) draws its reset, which the script's client-gone check then follows.
    c->shut = true;
    Watch(c, c->events & ~EPOLLIN);
    uint8_t probe[kHeader];
    RecordHeader(probe, kStderr, static_cast<uint16_t>(c->current), 0);
    iovec one = {probe, kHeader};
    return Send(c, &one, 1);
  }
  if (got <= 0) return Close(c, true, nullptr);  // the front left (or reset)
  c->in.insert(c->in.end(), chunk, chunk + got);
  Records(c);
}

bool FcgiConnections::Records(Conn* c) {
  uint32_t id = c->id;
  size_t at = 0;
  const char* malformed = nullptr;
  while (c->in.size() - at >= kHeader) {
    const uint8_t* h = c->in.data() + at;
    if (h[0] != 1) {
      malformed = "a record of another FastCGI version than 1";
      break;
    }
    size_t length = (static_cast<size_t>(h[4]) << 8) | h[5];
    size_t end = at + kHeader + length + h[6];
    if (c->in.size() < end) break;
    uint16_t request_id = static_cast<uint16_t>((h[2] << 8) | h[3]);
    // the front's next request, as soon as a PHP thread wrote the last answer: read once the last is done
    if (h[1] == kBeginRequest && c->current && c->lent) break;
    // `in` stays as it is meanwhile: only a read adds to it, and JS calls cannot read
    at = end;
    if (!Record(c, h[1], request_id, h + kHeader, length)) return false;
    if (!conns_.count(id)) return false;  // JS closed it meanwhile
  }
  if (malformed) {
    Close(c, true, malformed);
    return false;
  }
  c->in.erase(c->in.begin(), c->in.begin() + static_cast<ptrdiff_t>(at));
  return true;
}

bool FcgiConnections::Record(Conn* c, uint8_t type, uint16_t request_id, const uint8_t* content, size_t length) {
  auto fail = [&](const char* why) {
    Close(c, true, why);
    return false;
  };
  if (request_id == 0) {
    Management(c, type, content, length);
    return true;
  }
  if (type == kBeginRequest) {
    if (length < 8) return fail("a BEGIN_REQUEST of fewer than 8 bytes");
    // one request at a time on a connection, as FCGI_MPXS_CONNS 0 says
    if (c->current) {
      std::string end = EndRequest(request_id, kCantMpxConn);
      Send(c, end);
      return true;
    }
    uint16_t role = static_cast<uint16_t>((content[0] << 8) | content[1]);
    if (role != kResponder) {
      std::string end = EndRequest(request_id, kUnknownRole);
      Send(c, end);
      return true;
    }
    c->current = request_id;
    c->dispatched = false;
    c->stdin_done = false;
    c->keep = (content[2] & kKeepConn) != 0;
    c->params.clear();
    return true;
  }
  if (!c->current || c->current != request_id) {
    // what the front still sends of a request answered early (a 404 before its body) is dropped
    if (request_id == c->answered && (type == kStdin || type == kAbortRequest)) return true;
    return fail("a record for a request that was never begun");
  }
  Napi::Env env = Env();
  switch (type) {
    case kParams: {
      if (c->dispatched) return fail("PARAMS after the end of the PARAMS stream");
      if (length) {
        c->params.insert(c->params.end(), content, content + length);
        return true;
      }
      // the pairs must be whole: a pair may be split across records, not cut at the stream's end
      size_t at = 0, name_len, value_len, n = c->params.size();
      const uint8_t* p = c->params.data();
      while (at < n) {
        if (!NextPair(p, n, &at, &name_len, &value_len)) return fail("a name-value pair runs past the PARAMS stream");
        at += name_len + value_len;
      }
      c->dispatched = true;
      Napi::Value params = Napi::Buffer<uint8_t>::Copy(env, c->params.data(), c->params.size());
      c->params.clear();
      Emit(c->id, kEventRequest, request_id, params, c->keep);
      return true;
    }
    case kStdin: {
      if (!c->dispatched) return fail("STDIN before the end of the PARAMS stream");
      if (!length) c->stdin_done = true;
      Emit(c->id, kEventStdin, request_id, Napi::Buffer<uint8_t>::Copy(env, content, length), false);
      return true;
    }
    case kAbortRequest:
      if (c->dispatched) {
        Emit(c->id, kEventAbort, request_id, nullptr, false);
      } else {
        c->current = 0;
        std::string end = EndRequest(request_id, 0);
        Send(c, end);
      }
      return true;
    default: return fail("a record of a type no web server sends");
  }
}

// Records about the application, not a request: GET_VALUES is answered, others are unknown.
void FcgiConnections::Management(Conn* c, uint8_t type, const uint8_t* content, size_t length) {
  std::string out;
  if (type != kGetValues) {
    Header(out, kUnknownType, 0, 8);
    char body[8] = {static_cast<char>(type), 0, 0, 0, 0, 0, 0, 0};
    out.append(body, 8);
    return Send(c, out);
  }
  std::string answer;
  size_t at = 0, name_len, value_len;
  while (NextPair(content, length, &at, &name_len, &value_len)) {
    std::string name(reinterpret_cast<const char*>(content + at), name_len);
    at += name_len + value_len;
    if (name == "FCGI_MAX_CONNS" || name == "FCGI_MAX_REQS") AppendPair(answer, name, "1024");
    if (name == "FCGI_MPXS_CONNS") AppendPair(answer, name, "0");
  }
  Header(out, kGetValuesResult, 0, static_cast<uint16_t>(answer.size()));
  out.append(answer);
  Send(c, out);
}

// Its descriptor leaves the epoll set as it closes. Callers touch `c` no more: they find a
// connection again by its id after anything that may have closed it.
void FcgiConnections::Close(Conn* c, bool tell, const char* why) {
  if (!conns_.erase(c->id)) return;
  uint32_t id = c->id;
  int current = c->current;
  if (c->lent) {  // a PHP thread may write on it: the descriptor is closed once JS has it back
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
    shutdown(c->fd, SHUT_RDWR);
    c->gone = true;
    gone_[id] = c;
  } else {
    close(c->fd);
    delete c;
  }
  if (tell) Emit(id, kEventClosed, current, why ? Napi::String::New(Env(), why) : Env().Undefined(), false);
}

void FcgiConnections::Emit(uint32_t conn, Event kind, int request_id, napi_value data, bool keep) {
  Napi::Env env = Env();
  napi_value args[5] = {Napi::Number::New(env, conn), Napi::Number::New(env, kind), Napi::Number::New(env, request_id),
                        data ? data : env.Undefined(), Napi::Boolean::New(env, keep)};
  napi_value result;
  // a callback from the loop: microtasks and nextTicks run after it, as after a socket's 'data'
  napi_status status = napi_make_callback(env, async_context_, Value(), on_event_.Value(), 5, args, &result);
  if (status == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
}

}  // namespace tokio
