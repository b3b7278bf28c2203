// FastCGI 1.0 (https://fastcgi-archives.github.io/FastCGI_Specification.html): records, and the
// name-value pairs of PARAMS and GET_VALUES.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tokio {
namespace fcgi {

enum Type : uint8_t {
  kBeginRequest = 1,
  kAbortRequest = 2,
  kEndRequest = 3,
  kParams = 4,
  kStdin = 5,
  kStdout = 6,
  kStderr = 7,
  kGetValues = 9,
  kGetValuesResult = 10,
  kUnknownType = 11,
};
constexpr size_t kHeader = 8;
constexpr size_t kMaxContent = 65535;

// A record's header: version 1, no padding.
inline void RecordHeader(uint8_t* out, uint8_t type, uint16_t request_id, uint16_t length) {
  const uint8_t h[kHeader] = {1,
                              type,
                              static_cast<uint8_t>(request_id >> 8),
                              static_cast<uint8_t>(request_id),
                              static_cast<uint8_t>(length >> 8),
                              static_cast<uint8_t>(length),
                              0,
                              0};
  for (size_t i = 0; i < kHeader; i++) out[i] = h[i];
}

// END_REQUEST: its header and body (appStatus 0, then `protocol_status`), kEndRequestLength bytes.
constexpr size_t kEndRequestLength = kHeader + 8;
inline void EndRequestRecord(uint8_t* out, uint16_t request_id, uint8_t protocol_status) {
  RecordHeader(out, kEndRequest, request_id, 8);
  const uint8_t body[8] = {0, 0, 0, 0, protocol_status, 0, 0, 0};
  for (size_t i = 0; i < 8; i++) out[kHeader + i] = body[i];
}

}  // namespace fcgi

// Each pair's lengths are 1 byte, or 4 with the top bit set.

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
