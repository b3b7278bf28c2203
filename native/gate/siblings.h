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
  // The board's words: each slot's free threads (or kGone); each slot's PHP requests admitted and
  // not yet answered; each slot's PHP threads; then the most requests running at once and waiting
  // at once in all the processes together, since the board was made (/status).
  static constexpr int kInFlight = kSlots, kThreads = 2 * kSlots, kMaxActive = 3 * kSlots, kMaxWaiting = kMaxActive + 1;
  static constexpr int kWords = kMaxWaiting + 1;

  static int Create();  // the board's memfd, for the supervisor; -1 on error
  static void MarkGone(int board_fd, int slot);
  // the supervisor: the pool's maxima, as above
  static void Maxima(int board_fd, int64_t* max_active, int64_t* max_waiting);

  void Join(int board_fd, int slot, int threads);  // this process is `slot`, with `threads` PHP threads
  bool joined() const { return board_ != nullptr; }
  // JS thread: PHP threads free now, after an admission (change +1: it used up a reservation), a
  // release (-1), or neither (0)
  void SetFree(int free, int change);
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
  std::atomic<int64_t> reserved_count_{0};                      // reserved_.size(), for the JS thread
  // accepted connections not yet admitted: this gate's, and every gate's of the process (which
  // is one place on the board); updated from either thread
  std::atomic<int64_t> pending_{0};
  static std::atomic<int64_t> pending_total_;
  void UpdatePending();
};

}  // namespace tokio
