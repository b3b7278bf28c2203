// The gate classifies a connection's first request; those after it reach uWS directly, where
// limits compiled into uws-pack decide: more than 97 header lines get uWS's own 431, and a head
// trickled in is bounded by uWS's 10 s keep-alive timer instead of HEADER_TIMEOUT. So the data
// handler of a plain-HTTP app's connections is wrapped: the wrapper follows each connection's
// requests (a head, then a body framed by Content-Length or chunks, read as uWS reads it) and
// classifies every head as the gate does before uWS parses it. A head not yet whole is held
// here under HEADER_TIMEOUT; one uWS would refuse or mishandle is handed over, with its
// connection, to Node's http. What uWS takes is passed on unchanged, in the same read.
#include "uws_heads.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gate.h"
#include "usockets.h"

namespace tokio {

namespace {

// uSockets reads into a buffer with this much room past the data (LIBUS_RECV_BUFFER_PADDING), and
// uWS writes a fence there: bytes held here keep as much.
constexpr size_t kPadding = 32;

// One app's connections, on this thread's loop: uWS's own handlers, called from ours.
struct Watch {
  us_socket_context_t* context;
  UsOnData data;
  UsOnClose close;
  unsigned int header_seconds;
  Napi::ThreadSafeFunction hand_over;
};
thread_local std::vector<std::unique_ptr<Watch>> watches;

// Where a connection stands after a read, unless at the start of a head with nothing held (then
// it has no entry): the steady keep-alive connection costs a failed lookup and no allocation.
struct Conn {
  enum Phase : uint8_t { kHead, kBody, kChunkSize, kChunkLine, kChunkData, kOpaque } phase = kHead;
  uint64_t remaining = 0;  // kBody, kChunkData: bytes left; kChunkSize, kChunkLine: the size read
  std::string head;        // kHead: a head not yet whole
};
thread_local std::unordered_map<us_socket_t*, Conn> conns;

struct HandOver {
  int fd;
  std::string bytes;  // read from the connection and not yet parsed: the head, and what followed
  Gate::Peer peer;
};

Watch* WatchOf(us_socket_t* s) {
  us_socket_context_t* context = us.socket_context(0, s);
  for (auto& watch : watches) {
    if (watch->context == context) return watch.get();
  }
  return nullptr;
}

enum class Then { kPass, kHold, kHandOver };
struct Cut {
  size_t pass;  // the bytes uWS takes
  Then then;    // what becomes of the rest
};

// Reads a chunk-size digit as uWS's consumeHexNumber (ChunkedEncoding.h) does, oddities included,
// so that both find the same end of a chunked body; false where uWS fails the request.
bool ChunkDigit(unsigned char digit, uint64_t* size) {
  if (digit >= 'a') {
    digit = static_cast<unsigned char>(digit - ('a' - ':'));
  } else if (digit >= 'A') {
    digit = static_cast<unsigned char>(digit - ('A' - ':'));
  }
  unsigned int number = static_cast<unsigned int>(digit) - '0';
  if (number > 16 || (*size >> 56) != 0) return false;
  *size = *size * 16 + number;
  return true;
}

// Follows a connection through `data`: how much uWS takes, and what becomes of the rest.
Cut Follow(Conn& c, const char* data, size_t length) {
  size_t at = 0;
  while (at < length) {
    switch (c.phase) {
      case Conn::kOpaque: return {length, Then::kPass};
      case Conn::kBody:
      case Conn::kChunkData: {
        uint64_t take = std::min<uint64_t>(c.remaining, length - at);
        at += take;
        c.remaining -= take;
        if (c.remaining == 0) c.phase = c.phase == Conn::kBody ? Conn::kHead : Conn::kChunkSize;
        break;
      }
      case Conn::kChunkSize:
        if (static_cast<unsigned char>(data[at]) <= 32) {
          c.phase = Conn::kChunkLine;
        } else if (ChunkDigit(static_cast<unsigned char>(data[at]), &c.remaining)) {
          at++;
        } else {
          c.phase = Conn::kOpaque;  // uWS answers 400 and closes: nothing more to follow
        }
        break;
      case Conn::kChunkLine: {
        const char* end = static_cast<const char*>(std::memchr(data + at, '\n', length - at));
        if (end == nullptr) return {length, Then::kPass};
        at = static_cast<size_t>(end - data) + 1;
        // the chunk and its CRLF; after the last (size 0), uWS drops two bytes and the body ends
        c.phase = c.remaining == 0 ? Conn::kBody : Conn::kChunkData;
        c.remaining += 2;
        break;
      }
      case Conn::kHead: {
        bool complete = false;
        Gate::Framing framing;
        Gate::Verdict verdict = Gate::Classify(std::string_view(data + at, length - at), &complete, &framing);
        if (!complete) return {at, Then::kHold};
        if (verdict != Gate::kUws) return {at, Then::kHandOver};
        at += framing.head;
        c.remaining = framing.length;
        c.phase = framing.chunked ? Conn::kChunkSize : framing.length > 0 ? Conn::kBody : Conn::kHead;
        break;
      }
    }
  }
  return {length, Then::kPass};
}

// The connection leaves uWS for Node's http with what it sent since its last request, as the
// gate hands over a first request: uWS closes its descriptor, a duplicate keeps the connection.
void HandOverTo(Watch* watch, us_socket_t* s, const char* bytes, size_t size) {
  int fd = us.poll_fd(s);
  auto* handoff = new HandOver{fcntl(fd, F_DUPFD_CLOEXEC, 0), std::string(bytes, size), Gate::PeerOf(fd)};
  us.close(0, s, 0, nullptr);
  if (handoff->fd >= 0 &&
      watch->hand_over.NonBlockingCall(handoff, [](Napi::Env env, Napi::Function deliver, HandOver* h) {
        std::unique_ptr<HandOver> owned(h);
        deliver.Call({Napi::Number::New(env, h->fd), Napi::Buffer<char>::Copy(env, h->bytes.data(), h->bytes.size()),
                      Napi::String::New(env, h->peer.addr), Napi::Number::New(env, h->peer.port),
                      Napi::String::New(env, h->peer.server_addr), Napi::Number::New(env, h->peer.server_port)});
      }) == napi_ok) {
    return;
  }
  if (handoff->fd >= 0) close(handoff->fd);
  delete handoff;
}

us_socket_t* OnData(us_socket_t* s, char* data, int length) {
  Watch* watch = WatchOf(s);
  Conn c;
  if (auto it = conns.find(s); it != conns.end()) {
    c = std::move(it->second);
    conns.erase(it);
  }
  bool held = !c.head.empty();
  char* bytes = data;
  size_t size = static_cast<size_t>(length);
  if (held) {
    c.head.reserve(c.head.size() + size + kPadding);
    c.head.append(data, size);
    bytes = c.head.data();
    size = c.head.size();
  }
  Cut cut = Follow(c, bytes, size);
  us_socket_t* result = s;
  if (cut.pass > 0) {
    if (held) ArmTimeout(0, s, 0);  // the held head is whole: uWS times the request from here
    char fence[2];
    std::memcpy(fence, bytes + cut.pass, sizeof(fence));  // within the padding at worst
    result = watch->data(s, bytes, static_cast<int>(cut.pass));
    std::memcpy(bytes + cut.pass, fence, sizeof(fence));
    if (us.is_closed(0, s)) return result;
  }
  switch (cut.then) {
    case Then::kPass:
      if (c.phase != Conn::kHead) conns.emplace(s, Conn{c.phase, c.remaining, {}});
      break;
    case Then::kHold: {
      Conn& next = conns[s];
      next.head.assign(bytes + cut.pass, size - cut.pass);
      // HEADER_TIMEOUT bounds a whole head from its first byte (nginx's client_header_timeout);
      // rounded up past uSockets' 4 s ticks, so it never fires early
      if (!held || cut.pass > 0) ArmTimeout(0, s, watch->header_seconds);
      break;
    }
    case Then::kHandOver: HandOverTo(watch, s, bytes + cut.pass, size - cut.pass); break;
  }
  return result;
}

us_socket_t* OnClose(us_socket_t* s, int code, void* reason) {
  UsOnClose close = WatchOf(s)->close;
  conns.erase(s);
  return close(s, code, reason);
}

// Sets a handler through uSockets' API and finds, by what changed in the context, the handler it
// replaced; false (and the context as it was) unless exactly one slot changed.
template <typename Handler>
bool Replace(us_socket_context_t* context, void (*set)(int, us_socket_context_t*, Handler), Handler ours,
             Handler* theirs) {
  constexpr size_t kScan = 256;  // past uSockets' context struct, within its ext (uWS's HttpContextData)
  unsigned char before[kScan], after[kScan];
  std::memcpy(before, context, kScan);
  set(0, context, ours);
  std::memcpy(after, context, kScan);
  int changed = 0;
  for (size_t at = 0; at + sizeof(Handler) <= kScan; at += sizeof(Handler)) {
    if (std::memcmp(before + at, after + at, sizeof(Handler)) == 0) continue;
    Handler now;
    std::memcpy(&now, after + at, sizeof(now));
    std::memcpy(theirs, before + at, sizeof(Handler));
    changed += now == ours ? 1 : 2;
  }
  if (changed == 1) return true;
  std::memcpy(static_cast<void*>(context), before, kScan);
  return false;
}

}  // namespace

Napi::Value WatchHeads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object app = info[0].As<Napi::Object>();
  unsigned int header_seconds = (info[1].As<Napi::Number>().Uint32Value() + 999) / 1000 + 4;
  if (us.on_data == nullptr || !app.Get("getDescriptor").IsFunction()) return Napi::Boolean::New(env, false);
  // uWebSockets.js's getDescriptor() is the address of its TemplatedApp (the pointer's bits as a
  // double's), whose first member is its HttpContext, itself the us_socket_context_t; checked by
  // the loop data it leads to.
  double descriptor = app.Get("getDescriptor").As<Napi::Function>().Call(app, {}).As<Napi::Number>().DoubleValue();
  us_socket_context_t** address;
  static_assert(sizeof(address) == sizeof(descriptor), "a pointer in a double");
  std::memcpy(static_cast<void*>(&address), &descriptor, sizeof(address));
  if (address == nullptr) return Napi::Boolean::New(env, false);
  us_socket_context_t* context = *address;
  if (context == nullptr || FindNoMark(us.loop_ext(us.context_loop(0, context))) == nullptr) {
    return Napi::Boolean::New(env, false);
  }
  // an address seen before is a new context where a closed app's was: uWS's handlers are fresh
  for (auto it = watches.begin(); it != watches.end();) {
    if ((*it)->context != context) {
      ++it;
      continue;
    }
    (*it)->hand_over.Release();
    it = watches.erase(it);
  }
  auto watch = std::make_unique<Watch>();
  watch->context = context;
  watch->header_seconds = header_seconds;
  watch->hand_over = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "tokio-php-hand-over", 0, 1);
  watch->hand_over.Unref(env);
  Watch* added = watch.get();
  watches.push_back(std::move(watch));
  bool replaced = Replace<UsOnClose>(context, us.on_close, OnClose, &added->close);
  if (replaced && !Replace<UsOnData>(context, us.on_data, OnData, &added->data)) {
    us.on_close(0, context, added->close);
    replaced = false;
  }
  if (!replaced) {
    added->hand_over.Release();
    watches.pop_back();
  }
  return Napi::Boolean::New(env, replaced);
}

}  // namespace tokio
