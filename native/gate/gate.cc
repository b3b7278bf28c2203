// The front door of every listener. It accepts connections on its own thread, peeks at
// the first request without consuming it, and hands the socket to JS with a verdict: uWS for
// a well-formed HTTP/1.1 request, or Node's http for what uWS would refuse or mishandle
// (HTTP/1.0, a malformed request line, no Host, requests pipelined from the start). TLS
// connections go to uWS unread. Either way JS learns both ends' addresses from here.
#include "gate.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <mutex>
#include <unordered_set>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <string_view>

namespace tokio {

namespace {

// every listening gate of the process, one per event loop
std::mutex gates_mutex;
std::unordered_set<Gate*> gates;
std::atomic<size_t> gate_count{0};  // gates.size(), read without the lock

constexpr size_t kMaxHead = 16 * 1024;   // uWS reads heads up to UWS_HTTP_MAX_HEADERS_SIZE (16k)
constexpr long kUwsMaxHeaderLines = 90;  // uws-pack 20.0.8 refuses 98 and more
// A connection a sibling process should take but leaves this long is taken here.
constexpr std::chrono::milliseconds kSiblingSlow{1000};

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// Finds a header's value in a head, case-insensitively; npos when absent.
size_t FindHeader(std::string_view head, std::string_view name, std::string_view* value) {
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    size_t start = pos + 2;
    size_t end = head.find("\r\n", start);
    if (end == std::string_view::npos || end == start) break;
    std::string_view line = head.substr(start, end - start);
    if (line.size() > name.size() && line[name.size()] == ':' &&
        strncasecmp(line.data(), name.data(), name.size()) == 0) {
      std::string_view v = line.substr(name.size() + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      *value = v;
      return start;
    }
    pos = end;
  }
  return std::string_view::npos;
}

// "127.0.0.1" and its port; an IPv4-mapped IPv6 address as plain IPv4, and a Unix socket as
// "unix:" and its path (none for a client's unbound end) with port 0, as nginx shows them
std::string Format(const sockaddr_storage& sa, socklen_t len, int* port) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (sa.ss_family == AF_UNIX) {
    auto* a = reinterpret_cast<const sockaddr_un*>(&sa);
    size_t offset = offsetof(sockaddr_un, sun_path);
    *port = 0;
    return "unix:" + std::string(a->sun_path, len > offset ? strnlen(a->sun_path, len - offset) : 0);
  }
  if (sa.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&sa);
    *port = ntohs(a->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], text, sizeof(text));
    else inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
  } else {
    auto* a = reinterpret_cast<const sockaddr_in*>(&sa);
    *port = ntohs(a->sin_port);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
  }
  return text;
}

}  // namespace

Gate::Verdict Gate::Classify(std::string_view data, bool* complete, Framing* framing) {
  // What nginx refuses at once, without waiting for a head that will never be valid: a TLS
  // ClientHello on the plain port, an HTTP/0.9 request line.
  *complete = true;
  if (!data.empty() && data[0] == 0x16) return kBadRequest;
  size_t line_end = data.find('\n');
  if (line_end != std::string_view::npos) {
    std::string_view line = data.substr(0, line_end);
    size_t sp = line.find(' ');
    if (sp != std::string_view::npos && line.find(' ', sp + 1) == std::string_view::npos) return kBadRequest;
  }
  size_t head_end = data.find("\r\n\r\n");
  *complete = head_end != std::string_view::npos || data.size() >= kMaxHead;
  if (head_end == std::string_view::npos || head_end + 4 > kMaxHead) return kNode;  // over-long head: Node answers 431
  std::string_view head = data.substr(0, head_end + 2);

  // A bare CR, a NUL or an obs-folded line (a line starting with SP or HT): 400, as nginx. Other
  // control characters nginx lets through, but uWS would hang on them: Node's http answers those.
  bool control = false;
  for (size_t k = 0; k < head.size(); k++) {
    unsigned char ch = static_cast<unsigned char>(head[k]);
    if (ch == '\r' && head[k + 1] != '\n') return kBadRequest;
    if (ch == '\n' && k + 1 < head.size() && (head[k + 1] == ' ' || head[k + 1] == '\t')) return kBadRequest;
    if (ch == 0) return kBadRequest;
    control |= ch < 0x20 && ch != '\r' && ch != '\n' && ch != '\t';
  }

  // METHOD SP target SP HTTP/1.1 CRLF
  size_t i = 0;
  while (i < head.size() && IsTokenChar(head[i])) i++;
  if (i == 0 || i >= head.size() || head[i] != ' ') return kNode;
  size_t target_end = head.find(' ', i + 1);
  line_end = head.find("\r\n");
  if (target_end == std::string_view::npos || target_end == i + 1 || target_end > line_end) return kNode;
  std::string_view version = head.substr(target_end + 1, line_end - target_end - 1);
  // nginx: HTTP/2.0 and later over HTTP/1 framing → 505
  if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[5] >= '2' && version[5] <= '9' &&
      version[6] == '.') {
    return kVersionNotSupported;
  }
  if (version != "HTTP/1.1") return kNode;

  std::string_view value;
  if (FindHeader(head, "host", &value) == std::string_view::npos) return kNode;
  for (char ch : value) {
    if (static_cast<unsigned char>(ch) < 0x20 && ch != '\r') return kBadRequest;
  }
  if (control) return kNode;
  // uWS answers 431 by itself beyond 97 header lines; Node's http takes up to nginx's limits
  if (std::count(head.begin(), head.end(), '\n') > kUwsMaxHeaderLines) return kNode;

  // Bytes beyond this request's body are a second, pipelined request.
  size_t rest = data.size() - (head_end + 4);
  if (FindHeader(head, "transfer-encoding", &value) != std::string_view::npos) {
    // both framings: a smuggling attempt, refused as nginx does (uWS would answer its own page)
    if (FindHeader(head, "content-length", &value) != std::string_view::npos) return kBadRequest;
    if (framing != nullptr) *framing = Framing{head_end + 4, 0, true};
    return kUws;
  }
  uint64_t length = 0;
  if (FindHeader(head, "content-length", &value) != std::string_view::npos) {
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (value.empty() || error != std::errc() || end != value.data() + value.size()) return kBadRequest;  // as nginx
  }
  if (framing != nullptr) *framing = Framing{head_end + 4, length, false};
  return rest > length ? kNode : kUws;
}

Gate::Verdict Gate::ClassifyTls(std::string_view data, bool* complete, bool tls13) {
  // a TLS record (5 bytes: type, version, length) holding a handshake message (4: type, length)
  auto u8 = [&](size_t at) { return static_cast<unsigned char>(data[at]); };
  auto u16 = [&](size_t at) { return static_cast<size_t>(u8(at) << 8 | u8(at + 1)); };
  *complete = data.size() >= kMaxHead || (data.size() >= 5 && data.size() >= 5 + u16(3));
  if (!*complete) return kUws;
  if (data.size() < 9 || u8(0) != 0x16 || u8(5) != 0x01) return kUws;  // not a ClientHello: uWS's TLS refuses it
  // ClientHello: version (2), random (32), session id (1 + n), cipher suites (2 + n),
  // compression methods (1 + n), extensions (2 + n), each: type (2), length (2), data
  size_t at = 9 + 2 + 32;
  if (at >= data.size()) return kUws;
  at += 1 + u8(at);
  if (at + 2 > data.size()) return kUws;
  at += 2 + u16(at);
  if (at >= data.size()) return kUws;
  at += 1 + u8(at);
  if (at + 2 > data.size()) return kUws;
  size_t end = std::min(data.size(), at + 2 + u16(at));
  bool h2 = false, speaks13 = false;
  for (at += 2; at + 4 <= end; at += 4 + u16(at + 2)) {
    size_t body_end = std::min(end, at + 4 + u16(at + 2));
    if (u16(at) == 16) {  // application_layer_protocol_negotiation: a list (2 bytes of length) of
                          // names, each one byte of length then the name
      for (size_t name = at + 6; name < body_end && name + 1 + u8(name) <= body_end; name += 1 + u8(name)) {
        h2 |= data.substr(name + 1, u8(name)) == "h2";
      }
    } else if (u16(at) == 43 && at + 4 < body_end) {  // supported_versions: one byte of length, versions of 2
      for (size_t version = at + 5; version + 2 <= body_end; version += 2) speaks13 |= u16(version) == 0x0304;
    }
  }
  if (tls13 && !speaks13) return kTlsTooOld;
  return h2 ? kHttp2 : kUws;
}

Gate::Peer Gate::PeerOf(int fd) {
  sockaddr_storage remote{}, local{};
  socklen_t remote_len = sizeof(remote), local_len = sizeof(local);
  getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &remote_len);
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);
  Peer peer{"", 0, "", 0};
  peer.addr = Format(remote, remote_len, &peer.port);
  peer.server_addr = Format(local, local_len, &peer.server_port);
  return peer;
}

Napi::Object Gate::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "Gate",
                                   {
                                       InstanceMethod<&Gate::Listen>("listen"),
                                       InstanceMethod<&Gate::StopAccepting>("stopAccepting"),
                                       InstanceMethod<&Gate::SetFree>("setFree"),
                                       InstanceMethod<&Gate::Share>("share"),
                                       StaticMethod<&Gate::SiblingBoard>("siblingBoard"),
                                       StaticMethod<&Gate::MarkGone>("markGone"),
                                       StaticMethod<&Gate::BoardMaxima>("boardMaxima"),
                                       InstanceMethod<&Gate::Close>("close"),
                                       InstanceMethod<&Gate::HandTo>("handTo"),
                                       StaticMethod<&Gate::ListenSocket>("listenSocket"),
                                       StaticMethod<&Gate::Duplicate>("duplicate"),
                                       StaticMethod<&Gate::StopAcceptingAll>("stopAcceptingAll"),
                                   });
  exports.Set("Gate", cls);
  return exports;
}

Gate::Gate(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Gate>(info) {
  if (!info[0].IsFunction()) {
    Napi::TypeError::New(info.Env(), "Gate(onConnection)").ThrowAsJavaScriptException();
    return;
  }
  on_connection_ = Napi::Persistent(info[0].As<Napi::Function>());
}

Gate::~Gate() { Stop(); }

// { host, port } of a listening socket, or { path } of a Unix one
static Napi::Object BoundAddress(Napi::Env env, int fd) {
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  int port = 0;
  std::string text = Format(bound, len, &port);
  Napi::Object out = Napi::Object::New(env);
  if (bound.ss_family == AF_UNIX) {
    out.Set("path", text.substr(5));
  } else {
    out.Set("host", text);
    out.Set("port", port);
  }
  return out;
}

namespace {

// What listenSocket() throws: the reason, and the call that failed (as Node's errors say it)
void ThrowSocketError(Napi::Env env, const std::string& why, const char* syscall) {
  Napi::Error err = Napi::Error::New(env, why);
  err.Set("syscall", syscall);
  err.ThrowAsJavaScriptException();
}

int ListenTcp(Napi::Env env, const std::string& host, uint32_t port_number) {
  std::string port = std::to_string(port_number);
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    ThrowSocketError(env, "cannot resolve " + host + ": " + gai_strerror(rc), "getaddrinfo");
    return -1;
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);  // spawn maps it into children
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const char* failed = fd < 0                                         ? "socket"
                       : bind(fd, res->ai_addr, res->ai_addrlen) != 0 ? "bind"
                       : listen(fd, 4096) != 0                        ? "listen"
                                                                      : nullptr;
  int error = errno;
  freeaddrinfo(res);
  if (failed) {
    if (fd >= 0) close(fd);
    ThrowSocketError(env, std::strerror(error), failed);
    return -1;
  }
  return fd;
}

// A Unix socket file left by a server that is gone: nothing answers on it (ECONNREFUSED).
// Anything else (a live server, a file that is not a socket) is kept, and `why` says what it is.
bool Stale(const sockaddr_un& addr, std::string* why) {
  struct stat st {};
  if (lstat(addr.sun_path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    *why = "the path exists and is not a socket";
    return false;
  }
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int error = probe < 0                                                                     ? errno
              : connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0 ? 0
                                                                                            : errno;
  if (probe >= 0) close(probe);
  // connected, or its backlog is full: a server listens there
  if (error == 0 || error == EAGAIN)
    *why = "a server answers on it (another tokio-php?): stop it, or choose another path";
  else if (error != ECONNREFUSED) *why = std::strerror(error);
  return error == ECONNREFUSED;
}

// Binds `path` (replacing a stale socket file), gives it to uid:gid (-1: unchanged) with `mode`,
// then listens: no connection is taken before its permissions are set.
int ListenUnix(Napi::Env env, const std::string& path, mode_t mode, uid_t uid, gid_t gid) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    ThrowSocketError(env, "the path is longer than " + std::to_string(sizeof(addr.sun_path) - 1) + " bytes", "bind");
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ThrowSocketError(env, std::strerror(errno), "socket");
    return -1;
  }
  auto fail = [&](const std::string& why, const char* syscall, bool bound) {
    close(fd);
    if (bound) unlink(path.c_str());
    ThrowSocketError(env, why, syscall);
    return -1;
  };
  auto bind_path = [&] { return bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)); };
  if (bind_path() != 0) {
    if (errno == ENOENT) return fail("its directory does not exist", "bind", false);
    if (errno != EADDRINUSE) return fail(std::strerror(errno), "bind", false);
    std::string why;
    if (!Stale(addr, &why)) return fail(why, "bind", false);
    if (unlink(addr.sun_path) != 0 || bind_path() != 0) return fail(std::strerror(errno), "bind", false);
  }
  if ((uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) && chown(addr.sun_path, uid, gid) != 0) {
    return fail(std::strerror(errno), "chown", true);
  }
  if (chmod(addr.sun_path, mode) != 0) return fail(std::strerror(errno), "chmod", true);
  if (listen(fd, 4096) != 0) return fail(std::strerror(errno), "listen", true);
  return fd;
}

}  // namespace

// listenSocket({ host, port } | { path, mode, uid, gid }) -> { fd, address }: a listening socket that server processes can
// share (the supervisor makes it once, so a process that stops or crashes loses no queued
// connection). Throws the system's reason, with the failed call as `syscall`.
Napi::Value Gate::ListenSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object spec = info[0].As<Napi::Object>();
  auto number = [&](const char* key) { return spec.Get(key).As<Napi::Number>().Int64Value(); };
  int fd = spec.Has("path")
               ? ListenUnix(env, spec.Get("path").As<Napi::String>().Utf8Value(), static_cast<mode_t>(number("mode")),
                            static_cast<uid_t>(number("uid")), static_cast<gid_t>(number("gid")))
               : ListenTcp(env, spec.Get("host").As<Napi::String>().Utf8Value(),
                           spec.Get("port").As<Napi::Number>().Uint32Value());
  if (fd < 0) return env.Undefined();
  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", fd);
  out.Set("address", BoundAddress(env, fd));
  return out;
}

// listen(fds, headTimeoutMs, tls, serverHeader, http2, tls13, raw) -> each socket's address: accepts on
// listening sockets (made by listenSocket, here or in the supervisor), which the gate now owns
Napi::Value Gate::Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array fds = info[0].As<Napi::Array>();
  head_timeout_ = std::chrono::milliseconds(info[1].As<Napi::Number>().Int64Value());
  tls_ = info[2].ToBoolean();
  std::string server = info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "";
  http2_ = info[4].ToBoolean();
  tls13_ = info[5].ToBoolean();
  raw_ = info[6].ToBoolean();
  peek_ = !raw_ && (!tls_ || http2_ || tls13_);
  auto answer = [&](std::string_view status) {
    std::string body = std::string(status) + "\n";
    return "HTTP/1.1 " + std::string(status) +
           "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
           (server.empty() ? "" : "Server: " + server + "\r\n") + "Connection: close\r\n\r\n" + body;
  };
  bad_answer_ = answer("400 Bad Request");
  version_answer_ = answer("505 HTTP Version Not Supported");
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  Napi::Array addresses = Napi::Array::New(env, fds.Length());
  for (uint32_t i = 0; i < fds.Length(); i++) {
    int fd = fds.Get(i).As<Napi::Number>().Int32Value();
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    listen_fds_.push_back(fd);
    sockaddr_storage local{};
    socklen_t local_len = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0 && local.ss_family == AF_UNIX)
      unix_fds_.push_back(fd);
    ev.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    addresses.Set(i, BoundAddress(env, fd));
  }
  ev.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  tsfn_ = Tsfn::New(env, "tokio-php-gate", 0, 1, this);
  Ref();  // the thread calls back into this object until Close()
  thread_ = std::thread([this] { Run(); });
  std::lock_guard<std::mutex> lock(gates_mutex);
  gates.insert(this);
  gate_count = gates.size();
  return addresses;
}

// siblingBoard() -> fd of a new board (see siblings.cc), for the supervisor to hand to its processes
// duplicate(fd) -> a second descriptor of the same listening socket: each event loop's gate owns
// and closes its own, while every one accepts from the one queue of connections
Napi::Value Gate::Duplicate(const Napi::CallbackInfo& info) {
  int fd = fcntl(info[0].As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    Napi::Error::New(info.Env(), std::string("cannot duplicate the listening socket: ") + std::strerror(errno))
        .ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value Gate::SiblingBoard(const Napi::CallbackInfo& info) {
  int fd = Siblings::Create();
  if (fd < 0) {
    Napi::Error::New(info.Env(), std::string("cannot make the sibling board: ") + std::strerror(errno))
        .ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), fd);
}

// markGone(boardFd, slot): the process of `slot` is gone
Napi::Value Gate::MarkGone(const Napi::CallbackInfo& info) {
  Siblings::MarkGone(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// boardMaxima(boardFd) -> { maxActive, maxWaiting }: the most PHP requests running at once and
// waiting at once in all the processes together
Napi::Value Gate::BoardMaxima(const Napi::CallbackInfo& info) {
  int64_t active = 0, waiting = 0;
  Siblings::Maxima(info[0].As<Napi::Number>().Int32Value(), &active, &waiting);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("maxActive", static_cast<double>(active));
  out.Set("maxWaiting", static_cast<double>(waiting));
  return out;
}

// share(boardFd, slot, threads): this process is `slot` of several accepting on one socket, with `threads` PHP threads
Napi::Value Gate::Share(const Napi::CallbackInfo& info) {
  siblings_.Join(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(),
                 info[2].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// setFree(n, change): this process has n PHP threads free, after an admission (+1), a release (-1) or neither (0)
Napi::Value Gate::SetFree(const Napi::CallbackInfo& info) {
  siblings_.SetFree(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value());
  // A gate that leaves connections to a sibling looks again at once when this process's room
  // changes, not at its next poll: else a client opening connections one after another waited
  // up to 5 ms for each while every process deferred to the other's stale figure.
  if (deferring_.load(std::memory_order_relaxed)) {
    uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }
  return info.Env().Undefined();
}

// handTo(fcgiConnections): before listen(); raw connections on a Unix socket go straight to it
Napi::Value Gate::HandTo(const Napi::CallbackInfo& info) {
  inbox_ = Napi::ObjectWrap<FcgiConnections>::Unwrap(info[0].As<Napi::Object>())->inbox();
  return info.Env().Undefined();
}

Napi::Value Gate::StopAccepting(const Napi::CallbackInfo& info) {
  StopAcceptingHere();
  return info.Env().Undefined();
}

// stopAcceptingAll(): every gate of the process stops at once (the process drains, or every PHP
// thread is held by a stuck script): no event loop takes a connection another process could serve
Napi::Value Gate::StopAcceptingAll(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(gates_mutex);
  for (Gate* gate : gates) gate->StopAcceptingHere();
  return info.Env().Undefined();
}

void Gate::StopAcceptingHere() {
  stop_accepting_ = true;
  siblings_.Leave();
  uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof(one));
}

Napi::Value Gate::Close(const Napi::CallbackInfo& info) {
  if (Stop()) {
    tsfn_.Release();
    Unref();
  }
  return info.Env().Undefined();
}

bool Gate::Stop() {
  if (!thread_.joinable()) return false;
  {
    std::lock_guard<std::mutex> lock(gates_mutex);
    gates.erase(this);
    gate_count = gates.size();
  }
  stopping_ = true;
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  thread_.join();
  for (auto& [fd, pending] : pending_) close(fd);
  pending_.clear();
  for (int fd : listen_fds_) close(fd);
  listen_fds_.clear();
  unix_fds_.clear();
  close(epoll_fd_);
  close(wake_fd_);
  return true;
}

void Gate::Run() {
  epoll_event events[64];
  char peek[kMaxHead];
  bool watching = true;                                               // the listening socket is in the epoll set
  auto waiting_since = std::chrono::steady_clock::time_point::max();  // a connection the siblings leave
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    if (stop_accepting_ && !listen_fds_.empty()) {  // queued connections stay for the other processes
      for (int fd : listen_fds_) {
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
        close(fd);
      }
      listen_fds_.clear();
      unix_fds_.clear();
    }
    // A sibling process has a free thread: it takes new connections. One that waits anyway (the
    // sibling is slow or stuck) is taken here after kSiblingSlow.
    bool defer = !listen_fds_.empty() && siblings_.ShouldDefer();
    deferring_.store(defer, std::memory_order_relaxed);
    if (defer) {
      int queued = Queued();
      if (queued < 0) waiting_since = std::chrono::steady_clock::time_point::max();
      else if (waiting_since == std::chrono::steady_clock::time_point::max()) waiting_since = now;
      else if (now - waiting_since > kSiblingSlow) {
        Accept(queued, now, 1, false);
        waiting_since = std::chrono::steady_clock::time_point::max();
      }
    }
    if (!listen_fds_.empty() && defer == watching) {
      for (int fd : listen_fds_) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        epoll_ctl(epoll_fd_, defer ? EPOLL_CTL_DEL : EPOLL_CTL_ADD, fd, &ev);
      }
      watching = !defer;
    }
    int wait_ms = defer ? 5 : 1000;  // siblings' state is polled while leaving connections to them
    int n = epoll_wait(epoll_fd_, events, 64, wait_ms);
    now = std::chrono::steady_clock::now();
    for (int i = 0; i < n && !stopping_; i++) {
      int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        uint64_t count;
        (void)!read(wake_fd_, &count, sizeof(count));
        continue;
      }
      if (IsListening(fd)) {
        // With other event loops' gates on the socket, one connection per wake: they all wake
        // for a burst, and each takes its share instead of the first one taking the whole backlog.
        Accept(fd, now, gate_count.load(std::memory_order_relaxed) > 1 ? 1 : SIZE_MAX, true);
        continue;
      }
      auto it = pending_.find(fd);
      if (it == pending_.end()) continue;
      ssize_t got = recv(fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) {  // closed before it said anything
        Drop(fd);
        continue;
      }
      bool complete = false;
      std::string_view first(peek, static_cast<size_t>(got));
      // h2c with prior knowledge: the connection preface, `PRI * HTTP/2.0` then `SM`
      constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
      bool preface = !tls_ && http2_ && first.substr(0, kPreface.size()) == kPreface.substr(0, first.size());
      Verdict verdict = tls_ ? ClassifyTls(first, &complete, tls13_) : preface ? kHttp2 : Classify(first, &complete);
      if (verdict == kHttp2 && !http2_) verdict = kUws;  // peeked for TLS 1.3 alone
      if (preface) complete = first.size() >= kPreface.size();
      if (!complete) continue;  // edge-triggered: woken again when more arrives
      if (verdict == kBadRequest || verdict == kVersionNotSupported || verdict == kTlsTooOld) {
        Refuse(fd, verdict);
        continue;
      }
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      Peer peer = std::move(it->second.peer);
      pending_.erase(it);
      Hand(fd, verdict, std::move(peer));
    }
    // heads not whole HEADER_TIMEOUT after the accept are dropped: nginx's client_header_timeout
    // bounds the whole head, so a head trickled a byte at a time holds no connection for long
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (now - it->second.since > head_timeout_) {
        close(it->first);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

bool Gate::IsListening(int fd) const {
  return std::find(listen_fds_.begin(), listen_fds_.end(), fd) != listen_fds_.end();
}

int Gate::Queued() const {
  for (int fd : listen_fds_) {
    pollfd queued{fd, POLLIN, 0};
    if (poll(&queued, 1, 0) == 1) return fd;
  }
  return -1;
}

void Gate::Accept(int listen_fd, std::chrono::steady_clock::time_point now, size_t most, bool ask_siblings) {
  // siblings are asked again at each accept: they change meanwhile
  // stop_accepting_ is asked too: set from another thread, it holds from then on, even while this
  // thread has not yet woken to close the socket
  for (size_t taken = 0; taken < most && !stop_accepting_ && !(ask_siblings && siblings_.ShouldDefer()); taken++) {
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error: epoll tells us again
    siblings_.Reserve();
    if (inbox_ && std::find(unix_fds_.begin(), unix_fds_.end(), listen_fd) != unix_fds_.end()) {
      if (!inbox_->Put(fd)) close(fd);
      continue;
    }
    Peer ends = PeerOf(fd);
    int one = 1;
    if (ends.server_port != 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // not a Unix socket
    if (!peek_) {
      Hand(fd, raw_ ? kNode : kUws, std::move(ends));
      continue;
    }
    pending_[fd] = Pending{now, std::move(ends)};
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    ev.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
}

// Answers a request nginx would refuse and closes. What the client sent is read first, so the
// close is a FIN and not a reset that could destroy the answer before the client reads it.
void Gate::Refuse(int fd, Verdict verdict) {
  char sink[4096];
  while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0) {}
  // a fatal protocol_version alert, as a TLS library answers a client it will not speak with
  static const std::string kTlsAlert("\x15\x03\x03\x00\x02\x02\x46", 7);
  const std::string& answer = verdict == kTlsTooOld             ? kTlsAlert
                              : verdict == kVersionNotSupported ? version_answer_
                                                                : bad_answer_;
  (void)!send(fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  shutdown(fd, SHUT_WR);
  Drop(fd);
}

void Gate::Hand(int fd, Verdict verdict, Peer peer) {
  auto* handoff = new Handoff{fd, verdict, std::move(peer)};
  if (tsfn_.NonBlockingCall(handoff) != napi_ok) {
    close(fd);
    delete handoff;
  }
}

void Gate::Drop(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  pending_.erase(fd);
}

void Gate::Deliver(Napi::Env env, Napi::Function, Gate* self, Handoff* handoff) {
  std::unique_ptr<Handoff> h(handoff);
  if (!env) {
    close(h->fd);
    return;
  }
  Napi::HandleScope scope(env);
  self->on_connection_.Call({Napi::Number::New(env, h->fd),
                             Napi::String::New(env, h->verdict == kUws     ? "uws"
                                                    : h->verdict == kHttp2 ? "h2"
                                                                           : "node"),
                             Napi::String::New(env, h->peer.addr), Napi::Number::New(env, h->peer.port),
                             Napi::String::New(env, h->peer.server_addr), Napi::Number::New(env, h->peer.server_port)});
  if (env.IsExceptionPending()) {
    Napi::Error err = env.GetAndClearPendingException();
    napi_fatal_exception(env, err.Value());
  }
}

}  // namespace tokio
