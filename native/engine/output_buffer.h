// A script's output, captured on its worker thread. Small bodies stay in one heap block; past
// kMemfdThreshold the bytes move to an anonymous memfd, so a 1 GB response never needs a 1 GB
// realloc chain, and the finished body is handed to JS as one mmap'd Buffer without a copy.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tokio {

// Bytes for JS. With free_fn they are owned and can be wrapped as an external Buffer; without,
// they are borrowed from the OutputBuffer's inline storage and must be copied before it is
// written to again.
struct OutputBlock {
  char* data = nullptr;
  size_t size = 0;
  void (*free_fn)(char* data, size_t size) = nullptr;

  void release() {
    if (data && free_fn) free_fn(data, size);
    data = nullptr;
    size = 0;
  }
};

class OutputBuffer {
 public:
  // Most responses fit inline: no malloc on the worker and free on the JS thread per request.
  static constexpr size_t kInline = 8 * 1024;
  static constexpr size_t kInitial = 32 * 1024;
  static constexpr size_t kMemfdThreshold = 4 * 1024 * 1024;
  static constexpr size_t kStage = 256 * 1024;

  OutputBuffer() = default;
  OutputBuffer(const OutputBuffer&) = delete;
  OutputBuffer& operator=(const OutputBuffer&) = delete;
  ~OutputBuffer();

  // false when memory or the memfd could not take the bytes
  bool append(const char* data, size_t len);
  size_t size() const { return memfd_size_ + used_; }
  // true once bytes were lost: memory, the memfd or its mapping failed
  bool failed() const { return failed_; }
  // Hands over everything captured so far and starts empty again; inline bytes are lent.
  OutputBlock take();
  // Like take(), but the bytes are always owned: for a worker that writes on afterwards.
  OutputBlock take_owned();

 private:
  bool spill();

  char inline_[kInline];
  char* buf_ = inline_;
  size_t used_ = 0;
  size_t cap_ = kInline;
  int memfd_ = -1;
  size_t memfd_size_ = 0;
  bool failed_ = false;
};

}  // namespace tokio
