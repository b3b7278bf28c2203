// See siblings.cc: what the server processes sharing one listening socket tell each other.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

namespace tokio {

class Siblings {
 public:
  static constexpr int kSlots = 64;

  static int Create();  // the board's memfd, for the supervisor; -1 on error
  static void MarkGone(int board_fd, int slot);

  void Join(int board_fd, int slot);  // this process is `slot`
  bool joined() const { return board_ != nullptr; }
  // JS thread: PHP threads free now (after each admission and release)
  void SetFree(int free);
  // Gate thread: a connection was just accepted, and will likely want a thread
  void Reserve();
  void Leave();  // draining: it accepts no more
  // Gate thread: should a new connection be left to a sibling? While nothing is free here and a
  // sibling has a free thread; when all are full, each accepts and queues.
  bool ShouldDefer();

 private:
  void Publish();

  std::atomic<int64_t>* board_ = nullptr;
  int slot_ = -1;
  std::atomic<bool> left_{false};
  std::atomic<int> free_{0};
  std::atomic<uint64_t> reported_{0};  // how many times JS said; reservations older than it are void
  std::vector<std::pair<std::chrono::steady_clock::time_point, uint64_t>> reserved_;  // gate thread
};

}  // namespace tokio
