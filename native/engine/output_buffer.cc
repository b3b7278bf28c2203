#include "output_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace tokio {

namespace {

void free_heap(char* data, size_t) { std::free(data); }
void free_mapping(char* data, size_t size) { munmap(data, size); }

bool write_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

OutputBuffer::~OutputBuffer() {
  if (buf_ != inline_) std::free(buf_);
  if (memfd_ >= 0) close(memfd_);
}

bool OutputBuffer::append(const char* data, size_t len) {
  if (failed_) return false;
  if (used_ + len > cap_) {
    if (memfd_ >= 0 || used_ + len > kMemfdThreshold) {
      if (!spill()) return !(failed_ = true);
      // large writes go straight to the memfd; small ones are staged
      if (len >= kStage) {
        if (!write_all(memfd_, data, len)) return !(failed_ = true);
        memfd_size_ += len;
        return true;
      }
    }
    if (used_ + len > cap_) {
      size_t cap = std::max({kInitial, cap_ * 2, used_ + len});
      if (memfd_ >= 0) cap = std::max(kStage, used_ + len);
      char* grown = static_cast<char*>(std::realloc(buf_ == inline_ ? nullptr : buf_, cap));
      if (!grown) return !(failed_ = true);
      if (buf_ == inline_) std::memcpy(grown, inline_, used_);
      buf_ = grown;
      cap_ = cap;
    }
  }
  std::memcpy(buf_ + used_, data, len);
  used_ += len;
  return true;
}

bool OutputBuffer::spill() {
  if (memfd_ < 0) {
    memfd_ = memfd_create("tokio-php-output", MFD_CLOEXEC);
    if (memfd_ < 0) return false;
  }
  if (used_ > 0 && !write_all(memfd_, buf_, used_)) return false;
  memfd_size_ += used_;
  used_ = 0;
  return true;
}

OutputBlock OutputBuffer::take() {
  OutputBlock block;
  if (memfd_ >= 0) {
    if (spill() && memfd_size_ > 0) {
      void* map = mmap(nullptr, memfd_size_, PROT_READ, MAP_SHARED, memfd_, 0);
      if (map != MAP_FAILED) {
        block.data = static_cast<char*>(map);
        block.size = memfd_size_;
        block.free_fn = free_mapping;
      }
    }
    failed_ = failed_ || (!block.data && memfd_size_ > 0);
    close(memfd_);  // the mapping keeps the pages
    memfd_ = -1;
    memfd_size_ = 0;
    return block;
  }
  if (used_ > 0) {
    block.data = buf_;
    block.size = used_;
    block.free_fn = buf_ == inline_ ? nullptr : free_heap;
    used_ = 0;
    if (buf_ != inline_) {
      buf_ = inline_;
      cap_ = kInline;
    }
  }
  return block;
}

OutputBlock OutputBuffer::take_owned() {
  OutputBlock block = take();
  if (block.data && !block.free_fn) {
    char* copy = static_cast<char*>(std::malloc(block.size));
    if (!copy) {
      failed_ = true;
      return OutputBlock{};
    }
    std::memcpy(copy, block.data, block.size);
    block.data = copy;
    block.free_fn = free_heap;
  }
  return block;
}

}  // namespace tokio
