// See gate.cc: accepts connections and routes each to uWS or Node's http.
#pragma once

#include <napi.h>

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "../fastcgi/fcgi_connections.h"
#include "siblings.h"

namespace tokio {

class Gate : public Napi::ObjectWrap<Gate> {
 public:
  // kBadRequest, kVersionNotSupported and kTlsTooOld are answered by the gate itself (400, 505, a
  // protocol_version alert) and closed.
  enum Verdict { kUws, kNode, kHttp2, kBadRequest, kVersionNotSupported, kTlsTooOld };

  static Napi::Object Init(Napi::Env env, Napi::Object exports);
  explicit Gate(const Napi::CallbackInfo& info);
  ~Gate() override;

  // Where a request's head ends and how its body is framed, as uWS reads them: `length` bytes,
  // or chunks.
  struct Framing {
    size_t head = 0;
    uint64_t length = 0;
    bool chunked = false;
  };

  // A request's bytes -> who serves it; `complete` is false while the head has not fully
  // arrived. `framing`, when given, is filled for a request uWS takes.
  static Verdict Classify(std::string_view data, bool* complete, Framing* framing = nullptr);

  // A TLS connection's first bytes, its ClientHello -> kHttp2 when the client offers h2 (ALPN),
  // kTlsTooOld when `tls13` and it cannot speak TLS 1.3, else kUws.
  static Verdict ClassifyTls(std::string_view data, bool* complete, bool tls13);

  // A connection's two ends, as PHP's REMOTE_ADDR/REMOTE_PORT and SERVER_ADDR/SERVER_PORT see them.
  struct Peer {
    std::string addr;
    int port;
    std::string server_addr;
    int server_port;
  };
  static Peer PeerOf(int fd);

 private:
  struct Pending {
    std::chrono::steady_clock::time_point since;
    Peer peer;
  };
  struct Handoff {
    int fd;
    Verdict verdict;
    Peer peer;
  };

  static Napi::Value ListenSocket(const Napi::CallbackInfo& info);
  Napi::Value Listen(const Napi::CallbackInfo& info);
  Napi::Value StopAccepting(const Napi::CallbackInfo& info);
  Napi::Value SetFree(const Napi::CallbackInfo& info);
  static Napi::Value BoardMaxima(const Napi::CallbackInfo& info);
  Napi::Value Share(const Napi::CallbackInfo& info);
  static Napi::Value Duplicate(const Napi::CallbackInfo& info);
  static Napi::Value StopAcceptingAll(const Napi::CallbackInfo& info);
  static Napi::Value SiblingBoard(const Napi::CallbackInfo& info);
  static Napi::Value MarkGone(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value HandTo(const Napi::CallbackInfo& info);
  void StopAcceptingHere();
  bool Stop();
  void Run();
  // `ask_siblings` false: taken even though a sibling process has more room (it left it too long)
  void Accept(int listen_fd, std::chrono::steady_clock::time_point now, size_t most, bool ask_siblings);
  bool IsListening(int fd) const;
  int Queued() const;  // a listening socket with a connection waiting, or -1
  void Drop(int fd);
  void Refuse(int fd, Verdict verdict);
  void Hand(int fd, Verdict verdict, Peer peer);
  static void Deliver(Napi::Env env, Napi::Function, Gate* self, Handoff* handoff);

  using Tsfn = Napi::TypedThreadSafeFunction<Gate, Handoff, &Gate::Deliver>;
  Tsfn tsfn_;
  Napi::FunctionReference on_connection_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stop_accepting_{false};  // drain: connections already accepted are still handed over
  std::atomic<bool> deferring_{false};       // the gate thread leaves new connections to a sibling
  Siblings siblings_;                        // the other processes on this socket, if any
  std::vector<int> listen_fds_;              // one per address it accepts on (LISTEN_ADDR)
  std::vector<int> unix_fds_;                // those of them that are Unix sockets
  // raw: where connections on a Unix socket go, unread, without JS (it checks only TCP clients)
  std::shared_ptr<FcgiInbox> inbox_;
  int epoll_fd_ = -1, wake_fd_ = -1;
  std::unordered_map<int, Pending> pending_;  // gate thread only
  std::chrono::milliseconds head_timeout_{60'000};
  std::string bad_answer_, version_answer_;  // what Refuse() sends, with SERVER_HEADER
  bool tls_ = false;
  bool http2_ = false;  // HTTP/2 is served: h2c by its preface, over TLS by ALPN
  bool tls13_ = false;  // TLS_MIN_VERSION=TLSv1.3: uWS cannot be told, so the gate refuses older clients
  bool raw_ = false;    // not HTTP (FastCGI): every connection goes to JS unread, as 'node'
  bool peek_ = true;    // false for TLS without HTTP/2: every connection goes to uWS unread
};

}  // namespace tokio
