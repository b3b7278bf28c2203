// The server processes that share one listening socket balance it through a board in shared
// memory the supervisor makes: one word per process, how many PHP threads it has free (minus the
// connections it has just accepted whose request JS has not yet admitted), or kGone. A process
// leaves new connections to a sibling with more room, so bursts spread evenly and a connection
// does not wait behind a long request (or die with a crashing one) while another process could
// serve it at once.
#include "siblings.h"

#include <sys/mman.h>
#include <unistd.h>


namespace tokio {

namespace {

constexpr int64_t kGone = INT64_MIN;
constexpr std::chrono::milliseconds kReservation{20};  // an accepted connection counts this long

std::atomic<int64_t>* Map(int fd) {
  void* p = mmap(nullptr, Siblings::kSlots * sizeof(int64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? nullptr : static_cast<std::atomic<int64_t>*>(p);
}

}  // namespace

std::atomic<int> Siblings::free_{0};
std::atomic<int64_t> Siblings::pending_total_{0};

int Siblings::Create() {
  int fd = memfd_create("tokio-php-siblings", MFD_CLOEXEC);
  if (fd < 0) return -1;
  std::atomic<int64_t>* board = ftruncate(fd, kSlots * sizeof(int64_t)) == 0 ? Map(fd) : nullptr;
  if (!board) {
    close(fd);
    return -1;
  }
  for (int i = 0; i < kSlots; i++) board[i].store(kGone);
  munmap(board, kSlots * sizeof(int64_t));
  return fd;
}

void Siblings::MarkGone(int board_fd, int slot) {
  static std::atomic<int64_t>* board = Map(board_fd);  // the supervisor has one board
  if (board && slot >= 0 && slot < kSlots) board[slot].store(kGone);
}

void Siblings::Join(int board_fd, int slot) {
  if (slot < 0 || slot >= kSlots) return;
  board_ = Map(board_fd);
  slot_ = slot;
}

void Siblings::SetFree(int free, bool admitted) {
  free_ = free;
  if (admitted) admitted_++;
  if (!board_ || left_) return;
  // what the gate thread would publish, give or take a connection it is accepting right now
  UpdatePending();
  board_[slot_].store(free - pending_total_.load());
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
