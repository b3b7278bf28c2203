// FastCGI connections served on a JS thread's own event loop (libuv), without a Node socket per
// connection: records are read and framed here, and JS hears of each request once, with its
// PARAMS as one buffer. The gate accepts: a connection on a Unix socket comes straight here (its
// inbox); one over TCP goes through JS first, which checks the client and adopts it. The
// connections wait in an epoll set of their own, which the loop polls as one descriptor: a
// connection costs one epoll_ctl, where a uv_poll_t each cost four (nginx often opens one per request).
#pragma once

#include <napi.h>
#include <sys/uio.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace tokio {

// Where a gate's thread leaves the connections it accepts for a loop's FcgiConnections: each is
// added to the epoll set at once, tagged with its descriptor, and taken up by the loop at its
// first event; until then it is in `waiting`, which the loop closes if it closes first.
struct FcgiInbox {
  static constexpr uint64_t kTag = uint64_t{1} << 63;  // epoll data: a descriptor waiting, not a connection id
  std::mutex mutex;
  int epoll_fd = -1;  // -1 once the connections are closed
  std::unordered_set<int> waiting;
  // any thread: false when the inbox is closed (the caller closes fd)
  bool Put(int fd);
  // the loop: true when fd was waiting, and is the loop's from now on
  bool Take(int fd);
};

class FcgiConnections : public Napi::ObjectWrap<FcgiConnections> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit FcgiConnections(const Napi::CallbackInfo& info);
  ~FcgiConnections() override;

  // What JS hears: onEvent(conn, kind, requestId, data, keepConn)
  enum Event { kEventRequest = 1, kEventStdin = 2, kEventAbort = 3, kEventClosed = 4, kEventDrain = 5 };

  std::shared_ptr<FcgiInbox> inbox() const { return inbox_; }

 private:
  struct Conn {
    FcgiConnections* owner = nullptr;
    uint32_t id = 0;
    int fd = -1;
    uint32_t events = 0;  // what the epoll set waits for
    std::vector<uint8_t> in;
    std::string out;  // what the socket did not take yet
    size_t out_at = 0;
    bool over_high_water = false;
    int current = 0;          // the request in progress, 0 none
    bool dispatched = false;  // its PARAMS are complete and JS has it
    bool keep = false;        // FCGI_KEEP_CONN
    int answered = 0;         // the request answered last: the rest of its STDIN may still come
    bool closing = false;     // close once `out` is written
    // lent to a PHP thread, which may write the answer (native/engine/fcgi_answer.h): the
    // descriptor stays open until JS hands it back, and a next request waits for that
    bool lent = false;
    bool gone = false;        // closed while lent: only shut down
    bool stdin_done = false;  // the request's STDIN has ended
    bool shut = false;        // the front shut its side (cgi-fcgi does once its STDIN is sent): answer, then close
    std::vector<uint8_t> params;
  };

  Napi::Value Adopt(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Finish(const Napi::CallbackInfo& info);
  Napi::Value Lend(const Napi::CallbackInfo& info);
  Napi::Value Release(const Napi::CallbackInfo& info);
  // the connection is JS's again: closed if it went meanwhile, else what waits in `in` is read soon
  void TakeBack(Conn* c);
  static void OnResume(uv_idle_t* handle);
  Napi::Value CloseAll(const Napi::CallbackInfo& info);

  static void Teardown(void* self);
  void CloseEvery();
  Conn* Find(const Napi::Value& id);
  // a new connection on fd, in the epoll set with `op` (ADD, or MOD for one from the inbox); null if it could not
  Conn* Serve(int fd, int op);
  static void OnEpoll(uv_poll_t* handle, int status, int events);
  // `events`: what epoll said (a hang-up tells a front gone both ways from one that shut its side)
  void OnReadable(Conn* c, uint32_t events);
  void OnWritable(Conn* c);
  // Reads the records in c->in; false: the connection was closed (malformed, or by JS meanwhile)
  bool Records(Conn* c);
  bool Record(Conn* c, uint8_t type, uint16_t request_id, const uint8_t* content, size_t length);
  void Management(Conn* c, uint8_t type, const uint8_t* content, size_t length);
  void Send(Conn* c, const iovec* iov, int n);  // writes, or queues what the socket leaves
  void Send(Conn* c, const std::string& bytes);
  void Watch(Conn* c, uint32_t events);
  // closes the connection; `why`: tell JS (the peer left, or sent what no FastCGI client sends)
  void Close(Conn* c, bool tell, const char* why);
  void Emit(uint32_t conn, Event kind, int request_id, napi_value data, bool keep);

  uv_loop_t* loop_ = nullptr;
  int epoll_fd_ = -1;
  uv_poll_t* epoll_poll_ = nullptr;  // the epoll set, as the loop sees it (freed as the loop closes it)
  bool polling_ = false;
  Napi::FunctionReference on_event_;
  napi_async_context async_context_ = nullptr;
  std::shared_ptr<FcgiInbox> inbox_ = std::make_shared<FcgiInbox>();
  std::unordered_map<uint32_t, Conn*> conns_;
  std::unordered_map<uint32_t, Conn*> gone_;  // closed while lent
  uv_idle_t* resume_ = nullptr;               // reads the requests that waited for a lent connection
  std::vector<uint32_t> to_resume_;
  uint32_t next_id_ = 1;
};

}  // namespace tokio
