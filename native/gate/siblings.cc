// The server processes that share one listening socket balance it through a board in shared
// memory the supervisor makes: one word per process, how many PHP threads it has free (minus the
// connections it has just accepted whose request JS has not yet admitted), or kGone. A process
// leaves new connections to a sibling with more room, so bursts spread evenly and a connection
// does not wait behind a long request (or die with a crashing one) while another process could
// serve it at once.
#include "siblings.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

namespace tokio {

namespace {

constexpr int64_t kGone = INT64_MIN;
constexpr std::chrono::milliseconds kReservation{20};  // an accepted connection counts this long

std::atomic<int64_t>* Map(int fd) {
  void* p = mmap(nullptr, Siblings::kWords * sizeof(int64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? nullptr : static_cast<std::atomic<int64_t>*>(p);
}

// cell = max(cell, value)
void Raise(std::atomic<int64_t>& cell, int64_t value) {
  int64_t seen = cell.load();
  while (seen < value && !cell.compare_exchange_weak(seen, value)) {}
}

// the supervisor's one mapping of its one board
std::atomic<int64_t>* SupervisorBoard(int board_fd) {
  static std::atomic<int64_t>* board = Map(board_fd);
  return board;
}

}  // namespace

std::atomic<int> Siblings::free_{0};
std::atomic<int64_t> Siblings::pending_total_{0};

int Siblings::Create() {
  int fd = memfd_create("tokio-php-siblings", MFD_CLOEXEC);
  if (fd < 0) return -1;
  std::atomic<int64_t>* board = ftruncate(fd, kWords * sizeof(int64_t)) == 0 ? Map(fd) : nullptr;
  if (!board) {
    close(fd);
    return -1;
  }
  for (int i = 0; i < kWords; i++) board[i].store(i < kSlots ? kGone : 0);
  munmap(board, kWords * sizeof(int64_t));
  return fd;
}

void Siblings::MarkGone(int board_fd, int slot) {
  std::atomic<int64_t>* board = SupervisorBoard(board_fd);
  if (!board || slot < 0 || slot >= kSlots) return;
  board[slot].store(kGone);
  // what it had in flight ended with it
  board[kInFlight + slot].store(0);
  board[kThreads + slot].store(0);
}

void Siblings::Maxima(int board_fd, int64_t* max_active, int64_t* max_waiting) {
  std::atomic<int64_t>* board = SupervisorBoard(board_fd);
  *max_active = board ? board[kMaxActive].load() : 0;
  *max_waiting = board ? board[kMaxWaiting].load() : 0;
}

void Siblings::Join(int board_fd, int slot, int threads) {
  if (slot < 0 || slot >= kSlots) return;
  board_ = Map(board_fd);
  slot_ = slot;
  if (board_) board_[kThreads + slot].store(threads);
}

void Siblings::SetFree(int free, int change) {
  free_ = free;
  if (change > 0) admitted_++;
  if (!board_) return;
  if (!left_) {
    // first what the gates balance on: what the gate thread would publish, give or take a
    // connection it is accepting right now
    UpdatePending();
    board_[slot_].store(free - pending_total_.load());
  }
  if (!change) return;
  // then /status's figures. Every event loop of the process adds its own admissions and releases
  // to the process's word, draining or not: the words always add up to what runs and waits now.
  board_[kInFlight + slot_].fetch_add(change);
  if (change < 0) return;
  // only an admission can raise a maximum; with sequentially consistent atomics, of two processes
  // admitting at once at least one sees both admissions
  int64_t active = 0, waiting = 0;
  for (int i = 0; i < kSlots; i++) {
    int64_t in_flight = board_[kInFlight + i].load(), threads = board_[kThreads + i].load();
    active += std::min(in_flight, threads);
    waiting += std::max<int64_t>(0, in_flight - threads);
  }
  Raise(board_[kMaxActive], active);
  Raise(board_[kMaxWaiting], waiting);
}

void Siblings::UpdatePending() {
  int64_t pending = reserved_count_.load() - static_cast<int64_t>(admitted_.load() - admitted_seen_.load());
  if (pending < 0) pending = 0;
  pending_total_ += pending - pending_.exchange(pending);
}

void Siblings::Reserve() {
  if (!board_ || left_) return;
  reserved_.push_back(std::chrono::steady_clock::now());
  Publish();
}

void Siblings::Leave() {
  left_ = true;
  pending_total_ -= pending_.exchange(0);
  if (board_) board_[slot_].store(kGone);
}

void Siblings::Publish() {
  auto now = std::chrono::steady_clock::now();
  uint64_t admitted = admitted_.load();
  for (uint64_t seen = admitted_seen_.load(); seen < admitted; seen++) {
    if (!reserved_.empty()) reserved_.pop_front();
  }
  admitted_seen_ = admitted;
  while (!reserved_.empty() && now - reserved_.front() > kReservation) reserved_.pop_front();
  reserved_count_ = static_cast<int64_t>(reserved_.size());
  UpdatePending();
  board_[slot_].store(free_.load() - pending_total_.load());
}

bool Siblings::ShouldDefer() {
  if (!board_ || left_) return false;
  Publish();
  int64_t mine = board_[slot_].load();
  for (int i = 0; i < kSlots; i++) {
    int64_t other = board_[i].load();
    if (i != slot_ && other != kGone && other > mine) return true;
  }
  return false;
}

}  // namespace tokio
