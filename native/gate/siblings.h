// See siblings.cc: what the server processes sharing one listening socket tell each other.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>

namespace tokio {

class Siblings {
 public:
  static constexpr int kSlots = 64;

  static int Create();  // the board's memfd, for the supervisor; -1 on error
  static void MarkGone(int board_fd, int slot);

  void Join(int board_fd, int slot);  // this process is `slot`
  bool joined() const { return board_ != nullptr; }
  // JS thread: PHP threads free now, after an admission (which used up a reservation) or a release
  void SetFree(int free, bool admitted);
  // Gate thread: a connection was just accepted, and will likely want a thread
  void Reserve();
  void Leave();  // draining: it accepts no more
  // Gate thread: should a new connection be left to a sibling? While one has more room (free
  // threads, less what it has just accepted): connections go to the least loaded process.
  bool ShouldDefer();

 private:
  void Publish();

  std::atomic<int64_t>* board_ = nullptr;
  int slot_ = -1;
  std::atomic<bool> left_{false};
  // PHP threads free in this process: one figure for every event loop's gate, as they share one pool
  static std::atomic<int> free_;
  std::atomic<uint64_t> admitted_{0};       // admissions JS reported, each the end of one reservation
  std::atomic<uint64_t> admitted_seen_{0};  // written by the gate thread only
  std::deque<std::chrono::steady_clock::time_point> reserved_;  // gate thread: accepts not yet admitted
  std::atomic<int64_t> reserved_count_{0};  // reserved_.size(), for the JS thread
  // accepted connections not yet admitted: this gate's, and every gate's of the process (which
  // is one place on the board); updated from either thread
  std::atomic<int64_t> pending_{0};
  static std::atomic<int64_t> pending_total_;
  void UpdatePending();
};

}  // namespace tokio
