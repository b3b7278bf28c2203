// RATE_LIMIT's token buckets, in shared memory the supervisor makes, so that a client gets one
// limit however its connections are spread over the server processes. The table has a fixed
// size: a client hashes to a group of 8 entries, and a new client takes the place of the one its
// group saw least recently — memory stays bounded however many addresses come. Each group has a
// lock word holding its owner's pid, so that a process that dies holding it cannot wedge the
// others: a waiter takes over the lock of a pid that no longer exists.
#include "rate_table.h"

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

namespace tokio {

namespace {

constexpr int kWays = 8;
constexpr size_t kGroups = 16384;  // 131072 clients, 3.2 MiB

struct Entry {
  uint64_t key;  // 0: free
  double tokens;
  int64_t last_ms;
};

}  // namespace

struct RateGroup {
  std::atomic<int32_t> owner;  // pid holding the lock, 0 when free
  int32_t pad;
  Entry entries[kWays];
};

namespace {

constexpr size_t kBytes = kGroups * sizeof(RateGroup);

RateGroup* Map(int fd) {
  void* p = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? nullptr : static_cast<RateGroup*>(p);
}

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // one clock for every process on the machine
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

uint64_t Hash(const std::string& s) {  // FNV-1a
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h ? h : 1;
}

void Lock(RateGroup* g, int32_t me) {
  for (int spins = 0;; spins++) {
    int32_t expected = 0;
    if (g->owner.compare_exchange_weak(expected, me, std::memory_order_acquire)) return;
    if (spins > 1000 && expected != 0 && kill(expected, 0) == -1 && errno == ESRCH) {
      // its owner died inside: take the lock over
      if (g->owner.compare_exchange_strong(expected, me, std::memory_order_acquire)) return;
    }
    if (spins > 100) sched_yield();
  }
}

}  // namespace

void RateTable::Init(Napi::Env env, Napi::Object exports) {
  exports.Set("RateTable", DefineClass(env, "RateTable",
                                       {
                                           StaticMethod<&RateTable::Create>("create"),
                                           InstanceMethod<&RateTable::Take>("take"),
                                       }));
}

// RateTable.create() -> fd of a new, empty table, for the supervisor to hand to its processes
Napi::Value RateTable::Create(const Napi::CallbackInfo& info) {
  int fd = memfd_create("tokio-php-rate-limit", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, kBytes) != 0) {  // a new memfd reads as zeros: every entry free
    if (fd >= 0) close(fd);
    Napi::Error::New(info.Env(), std::string("cannot make the rate-limit table: ") + std::strerror(errno))
        .ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), fd);
}

// new RateTable(fd)
RateTable::RateTable(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RateTable>(info) {
  groups_ = Map(info[0].As<Napi::Number>().Int32Value());
  if (!groups_)
    Napi::Error::New(info.Env(), std::string("cannot map the rate-limit table: ") + std::strerror(errno))
        .ThrowAsJavaScriptException();
}

RateTable::~RateTable() {
  if (groups_) munmap(groups_, kBytes);
}

// take(client, perSecond, burst) -> the tokens left after taking one (>= 0), or, refused, minus
// the milliseconds until one is back
Napi::Value RateTable::Take(const Napi::CallbackInfo& info) {
  uint64_t key = Hash(info[0].As<Napi::String>().Utf8Value());
  double per_ms = info[1].As<Napi::Number>().DoubleValue() / 1000;
  double burst = info[2].As<Napi::Number>().DoubleValue();
  static const int32_t me = static_cast<int32_t>(getpid());
  RateGroup* g = &groups_[key % kGroups];
  int64_t now = NowMs();
  Lock(g, me);
  Entry* e = nullptr;
  Entry* oldest = &g->entries[0];
  for (Entry& candidate : g->entries) {
    if (candidate.key == key) {
      e = &candidate;
      break;
    }
    if (candidate.last_ms < oldest->last_ms) oldest = &candidate;  // a free entry's is 0
  }
  if (!e) {
    e = oldest;  // a free entry, or the least recently seen client of the group
    *e = {key, burst, now};
  }
  e->tokens = std::min(burst, e->tokens + static_cast<double>(now - e->last_ms) * per_ms);
  e->last_ms = now;
  double result;
  if (e->tokens >= 1) {
    e->tokens -= 1;
    result = e->tokens;
  } else {
    result = -std::ceil((1 - e->tokens) / per_ms);
  }
  g->owner.store(0, std::memory_order_release);
  return Napi::Number::New(info.Env(), result);
}

}  // namespace tokio
