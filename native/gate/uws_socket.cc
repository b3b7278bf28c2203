// What uws-pack 20.0.8 does not expose, reached through what it does. uWebSockets.js keeps a
// request's us_socket_t in internal field 0 of the `res` object it hands to handlers, and its
// binary exports uSockets' C API. From these the listener learns which accepted socket (the
// gate's fd, whose addresses the gate already knows) a request arrived on, since this build has
// no getRemotePort, silences the `uWebSockets: 20` response header (uWS's Loop::setSilent,
// which uWebSockets.js does not bind), and sets a socket's timeout while a body arrives: uWS only
// re-arms its 10 s one after each 160 KB (HttpContext.h: "clients uploading less than 16kB/sec
// get dropped"), which cuts slow honest uploads that nginx serves (its timeout is per read).
// Its own error pages are unsigned too (Unbrand).
#include "uws_socket.h"

#include "usockets.h"
#include "uws_heads.h"

#include <dlfcn.h>
#include <link.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <v8.h>

#include <cstring>
#include <ctime>
#include <mutex>

namespace tokio {

USockets us;

// uWS's LoopData holds `char date[32]; time_t cacheTimepoint; bool noMark;` (uWebSockets
// src/LoopData.h, unchanged since 2023). The date is found by its shape and checked against the
// clock beside it before the flag is touched, so another layout is refused, not corrupted.
bool* FindNoMark(char* loop_data) {
  constexpr size_t kScan = 512;
  const time_t now = time(nullptr);
  for (size_t at = 0; at + 41 <= kScan; at += 8) {
    const char* d = loop_data + at;
    bool shaped = d[3] == ',' && d[4] == ' ' && d[7] == ' ' && d[11] == ' ' && d[16] == ' ' && d[19] == ':' &&
                  d[22] == ':' && std::memcmp(d + 25, " GMT", 5) == 0;
    if (!shaped) continue;
    time_t stamp;
    std::memcpy(&stamp, d + 32, sizeof(stamp));
    bool* flag = reinterpret_cast<bool*>(loop_data + at + 40);
    if (stamp > now - 3600 && stamp <= now + 1 && (*reinterpret_cast<unsigned char*>(flag) <= 1)) return flag;
  }
  return nullptr;
}

void ArmTimeout(int ssl, us_socket_t* socket, unsigned int seconds) {
  if (seconds <= 900) {
    us.long_timeout(ssl, socket, 0);
    us.timeout(ssl, socket, seconds);
  } else {
    us.timeout(ssl, socket, 0);
    us.long_timeout(ssl, socket, (seconds + 59) / 60);
  }
}

namespace {

us_socket_t* SocketOf(Napi::Value res) {
  napi_value value = res;
  v8::Local<v8::Value> local;
  static_assert(sizeof(local) == sizeof(value), "napi_value is a v8::Local");
  std::memcpy(static_cast<void*>(&local), &value, sizeof(value));
  if (!local->IsObject()) return nullptr;
  v8::Local<v8::Object> object = local.As<v8::Object>();
  if (object->InternalFieldCount() < 1) return nullptr;
  return static_cast<us_socket_t*>(object->GetAlignedPointerFromInternalField(0));
}

// uWS answers a malformed request on a connection it already serves with a page of its own, signed
// `<hr><i>uWebSockets/20 Server</i>`. The signature is blanked (spaces: the pages' lengths stay)
// in the loaded binary's read-only data, once per process, before any of its loops runs.
int Unbrand(const std::string& path) {
  struct Search {
    const char* base;
    int blanked;
  } search{std::strrchr(path.c_str(), '/') ? std::strrchr(path.c_str(), '/') + 1 : path.c_str(), 0};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) -> int {
        auto* s = static_cast<Search*>(data);
        const char* name = info->dlpi_name ? std::strrchr(info->dlpi_name, '/') : nullptr;
        if (name == nullptr || std::strcmp(name + 1, s->base) != 0) return 0;
        static const char kMark[] = "<hr><i>uWebSockets/20 Server</i>";
        const size_t mark = sizeof(kMark) - 1;
        const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
        for (int i = 0; i < info->dlpi_phnum; i++) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || ph.p_flags != PF_R) continue;  // data only: no code runs there
          char* start = reinterpret_cast<char*>(info->dlpi_addr + ph.p_vaddr);
          char* end = start + ph.p_memsz;
          for (char* at = start; (at = static_cast<char*>(memmem(at, end - at, kMark, mark))) != nullptr; at += mark) {
            char* first = reinterpret_cast<char*>(reinterpret_cast<uintptr_t>(at) & ~(page - 1));
            size_t span = at + mark - first;
            if (mprotect(first, span, PROT_READ | PROT_WRITE) != 0) continue;
            std::memset(at, ' ', mark);
            mprotect(first, span, PROT_READ);
            s->blanked++;
          }
        }
        return 1;
      },
      &search);
  return search.blanked;
}

// attach(binaryPath) -> true when the loaded uWebSockets.js binary exports what is needed
Napi::Value Attach(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  void* handle = dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  if (handle == nullptr) return Napi::Boolean::New(info.Env(), false);
  us.poll_fd = reinterpret_cast<decltype(us.poll_fd)>(dlsym(handle, "us_poll_fd"));
  us.socket_context = reinterpret_cast<decltype(us.socket_context)>(dlsym(handle, "us_socket_context"));
  us.context_loop = reinterpret_cast<decltype(us.context_loop)>(dlsym(handle, "us_socket_context_loop"));
  us.loop_ext = reinterpret_cast<decltype(us.loop_ext)>(dlsym(handle, "us_loop_ext"));
  us.timeout = reinterpret_cast<decltype(us.timeout)>(dlsym(handle, "us_socket_timeout"));
  us.long_timeout = reinterpret_cast<decltype(us.long_timeout)>(dlsym(handle, "us_socket_long_timeout"));
  us.close = reinterpret_cast<decltype(us.close)>(dlsym(handle, "us_socket_close"));
  us.is_closed = reinterpret_cast<decltype(us.is_closed)>(dlsym(handle, "us_socket_is_closed"));
  us.write = reinterpret_cast<decltype(us.write)>(dlsym(handle, "us_socket_write"));
  us.on_data = reinterpret_cast<decltype(us.on_data)>(dlsym(handle, "us_socket_context_on_data"));
  us.on_close = reinterpret_cast<decltype(us.on_close)>(dlsym(handle, "us_socket_context_on_close"));
  dlclose(handle);  // RTLD_NOLOAD took a reference of its own; Node's stays
  static std::once_flag unbranded;
  std::call_once(unbranded, [&path] { Unbrand(path); });
  return Napi::Boolean::New(info.Env(), us.poll_fd && us.socket_context && us.context_loop && us.loop_ext &&
                                            us.timeout && us.long_timeout && us.close && us.is_closed && us.write &&
                                            us.on_data && us.on_close);
}

// socketFd(res) -> the descriptor the request arrived on, -1 if `res` holds no live socket
Napi::Value SocketFd(const Napi::CallbackInfo& info) {
  us_socket_t* socket = us.poll_fd ? SocketOf(info[0]) : nullptr;
  return Napi::Number::New(info.Env(), socket ? us.poll_fd(socket) : -1);
}

// silence(res, ssl) -> true once the loop serving `res` writes no `uWebSockets` header
Napi::Value Silence(const Napi::CallbackInfo& info) {
  us_socket_t* socket = us.loop_ext ? SocketOf(info[0]) : nullptr;
  if (socket == nullptr) return Napi::Boolean::New(info.Env(), false);
  int ssl = info[1].ToBoolean() ? 1 : 0;
  char* loop_data = us.loop_ext(us.context_loop(ssl, us.socket_context(ssl, socket)));
  bool* no_mark = FindNoMark(loop_data);
  if (no_mark != nullptr) *no_mark = true;
  return Napi::Boolean::New(info.Env(), no_mark != nullptr);
}

// keepReading(res, ssl, seconds): the socket of `res` is closed after `seconds` without data,
// unless data re-arms it
Napi::Value KeepReading(const Napi::CallbackInfo& info) {
  us_socket_t* socket = us.timeout ? SocketOf(info[0]) : nullptr;
  if (socket == nullptr) return Napi::Boolean::New(info.Env(), false);
  int ssl = info[1].ToBoolean() ? 1 : 0;
  ArmTimeout(ssl, socket, info[2].As<Napi::Number>().Uint32Value());
  return Napi::Boolean::New(info.Env(), true);
}

// writeInformational(res, ssl, bytes) -> true once written whole: an informational response
// (103) goes out through uSockets ahead of uWS, which would only send it with the final one. Only
// onto a socket with nothing queued, where uWS holds nothing either (it buffers only what the
// kernel would not take) and a few hundred bytes go out whole.
Napi::Value WriteInformational(const Napi::CallbackInfo& info) {
  us_socket_t* socket = us.write ? SocketOf(info[0]) : nullptr;
  if (socket == nullptr) return Napi::Boolean::New(info.Env(), false);
  int ssl = info[1].ToBoolean() ? 1 : 0;
  std::string bytes = info[2].As<Napi::String>().Utf8Value();
  int queued = 0;
  if (ioctl(us.poll_fd(socket), SIOCOUTQ, &queued) != 0 || queued != 0) return Napi::Boolean::New(info.Env(), false);
  int written = us.write(ssl, socket, bytes.data(), static_cast<int>(bytes.size()), 0);
  if (written > 0 && written < static_cast<int>(bytes.size()))
    us.close(ssl, socket, 0, nullptr);  // half a head: unusable
  return Napi::Boolean::New(info.Env(), written == static_cast<int>(bytes.size()));
}

}  // namespace

void InitUwsSocket(Napi::Env env, Napi::Object exports) {
  Napi::Object uws = Napi::Object::New(env);
  uws.Set("attach", Napi::Function::New<Attach>(env, "attach"));
  uws.Set("socketFd", Napi::Function::New<SocketFd>(env, "socketFd"));
  uws.Set("silence", Napi::Function::New<Silence>(env, "silence"));
  uws.Set("keepReading", Napi::Function::New<KeepReading>(env, "keepReading"));
  uws.Set("watchHeads", Napi::Function::New<WatchHeads>(env, "watchHeads"));
  uws.Set("writeInformational", Napi::Function::New<WriteInformational>(env, "writeInformational"));
  exports.Set("uws", uws);
}

}  // namespace tokio
