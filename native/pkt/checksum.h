// Internet checksums: the full one (RFC 1071) for headers we build or verify,
// and incremental updates (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')) for
// fields we rewrite, so forwarding never re-sums a header or a payload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nfvgw {

// Adds `len` bytes to a 32-bit one's-complement accumulator.
inline uint32_t csumAdd(const void* data, size_t len, uint32_t sum = 0) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint64_t acc = sum;
  while (len >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    acc += w >> 32;
    acc += w & 0xffffffffu;
    p += 8;
    len -= 8;
  }
  while (len >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    acc += w;
    p += 2;
    len -= 2;
  }
  if (len) acc += *p;  // little-endian host: a trailing byte is the low byte of a word
  while (acc >> 32) acc = (acc & 0xffffffffu) + (acc >> 32);
  return uint32_t(acc);
}

// Folds an accumulator to 16 bits and complements it: the value to store.
inline uint16_t csumFold(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

inline uint16_t csum(const void* data, size_t len) { return csumFold(csumAdd(data, len)); }

// The checksum of an IPv4 header: five 32-bit words for the usual 20 bytes
// (no options), the general loop otherwise.
inline uint16_t ip4HeaderCsum(const void* hdr, size_t len) {
  if (len != 20) return csum(hdr, len);
  uint32_t w[5];
  std::memcpy(w, hdr, 20);
  uint64_t acc = uint64_t(w[0]) + w[1] + w[2] + w[3] + w[4];
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffffffu) + (acc >> 32);
  return csumFold(uint32_t(acc));
}

// RFC 1624 eqn. 3 in two steps, for several fields changing at once: the
// change of each (csumDelta16/32: the old value's complement and the new
// value, as stored, i.e. network order, summed as 16-bit words), added up,
// then applied to a checksum (csumApply). One's complement addition does
// not care in which order, so a field in two checksums (an address in the
// IPv4 header's and the TCP pseudo-header's) is summed once.
inline uint32_t csumDelta16(uint16_t old_w, uint16_t new_w) { return uint32_t(uint16_t(~old_w)) + new_w; }
inline uint32_t csumDelta32(uint32_t old_v, uint32_t new_v) {
  return uint32_t(uint16_t(~old_v)) + uint16_t(~(old_v >> 16)) + uint16_t(new_v) + uint16_t(new_v >> 16);
}
// `delta`: a sum of at most a few hundred deltas (no 32-bit overflow).
inline uint16_t csumApply(uint16_t check, uint32_t delta) {
  uint32_t sum = uint16_t(~check) + delta;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

// RFC 1624 eqn. 3 for one 16-bit word changing from `old_w` to `new_w`
// (both as stored, i.e. network order).
inline uint16_t csumReplace16(uint16_t check, uint16_t old_w, uint16_t new_w) {
  return csumApply(check, csumDelta16(old_w, new_w));
}

// The same for a 32-bit field (an IPv4 address), as two 16-bit words.
inline uint16_t csumReplace32(uint16_t check, uint32_t old_v, uint32_t new_v) {
  return csumApply(check, csumDelta32(old_v, new_v));
}

}  // namespace nfvgw
