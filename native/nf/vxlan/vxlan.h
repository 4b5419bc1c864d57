// VXLAN (RFC 7348): the header, and the overhead an encapsulated frame
// carries on the underlay.
#pragma once

#include <cstdint>

namespace nfvgw {

struct __attribute__((packed)) VxlanHdr {
  uint8_t flags;  // R R R R I R R R: I (0x08) says the VNI is valid
  uint8_t reserved1[3];
  uint8_t vni[3];
  uint8_t reserved2;
};

inline constexpr uint8_t kVxlanFlagI = 0x08;
inline constexpr uint8_t kVxlanOuterTtl = 64;

// Outer Ethernet, IPv4, UDP and VXLAN in front of the inner frame.
inline constexpr uint32_t kVxlanOuterL3 = 20 + 8 + 8;  // IPv4 + UDP + VXLAN
inline constexpr uint32_t kVxlanOverhead = 14 + kVxlanOuterL3;

inline uint32_t vxlanVni(const VxlanHdr* h) {
  return (uint32_t(h->vni[0]) << 16) | (uint32_t(h->vni[1]) << 8) | h->vni[2];
}

}  // namespace nfvgw
