// FastCGI's name-value pairs (PARAMS, GET_VALUES): each length is 1 byte, or 4 with the top bit set.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tokio {

// The length at `*at` in p[0, n), `*at` moved past it; false when it runs past the end.
inline bool PairLength(const uint8_t* p, size_t n, size_t* at, size_t* len) {
  if (*at >= n) return false;
  if (p[*at] < 0x80) {
    *len = p[(*at)++];
    return true;
  }
  if (*at + 4 > n) return false;
  *len = (static_cast<size_t>(p[*at] & 0x7f) << 24) | (static_cast<size_t>(p[*at + 1]) << 16) |
         (static_cast<size_t>(p[*at + 2]) << 8) | p[*at + 3];
  *at += 4;
  return true;
}

// The next pair at `*at`: its name and value offsets and lengths; false at the end or when it runs past it.
inline bool NextPair(const uint8_t* p, size_t n, size_t* at, size_t* name_len, size_t* value_len) {
  return PairLength(p, n, at, name_len) && PairLength(p, n, at, value_len) && *name_len + *value_len <= n - *at;
}

}  // namespace tokio
