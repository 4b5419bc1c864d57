// Writing the Ethernet header of an outgoing frame in front of its L3
// header. The L3 header stays where it is; the frame start moves back or
// forward by the difference in header size, so adding or removing an 802.1Q
// tag costs no copy (frames keep headroom for this).
#pragma once

#include <cstring>

#include "pkt/headers.h"
#include "pkt/pkt.h"

namespace nfvgw {

inline void writeEthernet(Pkt& p, const uint8_t* dst, const uint8_t* src, uint16_t vlan, uint16_t ethertype) {
  uint8_t l2 = vlan ? sizeof(EthHdr) + sizeof(VlanTag) : sizeof(EthHdr);
  if (l2 == sizeof(EthHdr) && p.l2_len == l2) {
    // The common case: untagged in and out, only the addresses change.
    std::memcpy(p.data, dst, 6);
    std::memcpy(p.data + 6, src, 6);
    uint16_t t = be16(ethertype);
    std::memcpy(p.data + 12, &t, 2);
    return;
  }
  uint8_t* l3 = p.data + p.l2_len;
  uint8_t* start = l3 - l2;
  int64_t delta = start - p.data;
  p.addr = uint64_t(int64_t(p.addr) + delta);
  p.len = uint32_t(int64_t(p.len) - delta);
  p.data = start;
  p.l2_len = l2;
  std::memcpy(start, dst, 6);
  std::memcpy(start + 6, src, 6);
  if (vlan) {
    uint16_t tag[3] = {be16(kEthP_Vlan), be16(vlan), be16(ethertype)};
    std::memcpy(start + 12, tag, 6);
  } else {
    uint16_t t = be16(ethertype);
    std::memcpy(start + 12, &t, 2);
  }
}

}  // namespace nfvgw
