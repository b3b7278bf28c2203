// The server processes that share one listening socket balance it through a board in shared
// memory the supervisor makes: one word per process, how many PHP threads it has free (minus the
// connections it has just accepted and JS has not yet counted), or kGone. A process with nothing
// free leaves new connections to a sibling that has, so a connection does not wait behind a long
// request (or die with a crashing one) while another process could serve it at once.
#include "siblings.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

namespace tokio {

namespace {

constexpr int64_t kGone = INT64_MIN;
constexpr std::chrono::milliseconds kReservation{20};  // an accepted connection counts this long

std::atomic<int64_t>* Map(int fd) {
  void* p = mmap(nullptr, Siblings::kSlots * sizeof(int64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? nullptr : static_cast<std::atomic<int64_t>*>(p);
}

}  // namespace

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

void Siblings::SetFree(int free) {
  free_ = free;
  reported_++;
  if (board_ && !left_) board_[slot_].store(free);
}

void Siblings::Reserve() {
  if (!board_ || left_) return;
  reserved_.emplace_back(std::chrono::steady_clock::now(), reported_.load());
  Publish();
}

void Siblings::Leave() {
  left_ = true;
  if (board_) board_[slot_].store(kGone);
}

void Siblings::Publish() {
  auto now = std::chrono::steady_clock::now();
  uint64_t reported = reported_.load();
  reserved_.erase(std::remove_if(reserved_.begin(), reserved_.end(), [&](auto& r) {
    return r.second != reported || now - r.first > kReservation;
  }), reserved_.end());
  board_[slot_].store(free_.load() - static_cast<int64_t>(reserved_.size()));
}

bool Siblings::ShouldDefer() {
  if (!board_ || left_) return false;
  Publish();
  if (board_[slot_].load() > 0) return false;
  for (int i = 0; i < kSlots; i++) {
    if (i != slot_ && board_[i].load() > 0) return true;
  }
  return false;
}

}  // namespace tokio
