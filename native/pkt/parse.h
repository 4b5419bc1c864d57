// Header checks for received frames: Ethernet (with one 802.1Q tag) and
// IPv4. Each returns a next step or a drop verdict (core/drops.h) and fills
// the descriptor's l2_len, vlan, ethertype and l3_len.
#pragma once

#include <cstring>

#include "core/drops.h"
#include "pkt/checksum.h"
#include "pkt/headers.h"
#include "pkt/pkt.h"

namespace nfvgw {

enum L2Next : int { kL2Arp = 0, kL2Ip4 = 1 };

// `port_mac`: the receiving port's address; `port_vlan`: the tag the port
// expects (0: untagged); `max_frame`: the longest frame its MTU allows.
inline int parseEthernet(Pkt& p, const uint8_t* port_mac, uint16_t port_vlan, uint32_t max_frame) {
  if (p.len < sizeof(EthHdr)) return dropVerdict(Drop::eth_truncated);
  if (p.len > max_frame) return dropVerdict(Drop::frame_too_long);
  const EthHdr* eth = reinterpret_cast<const EthHdr*>(p.data);
  if (macIsMulticast(eth->dst)) {
    if (!macIsBroadcast(eth->dst)) return dropVerdict(Drop::l2_multicast);
  } else if (!macEqual(eth->dst, port_mac)) {
    return dropVerdict(Drop::l2_not_for_us);
  }
  uint16_t type = be16(eth->type);
  uint8_t l2 = sizeof(EthHdr);
  uint16_t vlan = 0;
  if (type == kEthP_Vlan) {
    if (p.len < sizeof(EthHdr) + sizeof(VlanTag)) return dropVerdict(Drop::eth_truncated);
    const VlanTag* tag = reinterpret_cast<const VlanTag*>(p.data + sizeof(EthHdr));
    vlan = be16(tag->tci) & 0x0fff;
    type = be16(tag->type);
    l2 += sizeof(VlanTag);
  }
  if (vlan != port_vlan) return dropVerdict(Drop::vlan_mismatch);
  p.l2_len = l2;
  p.vlan = vlan;
  p.ethertype = type;
  if (type == kEthP_Ip4) return kL2Ip4;
  if (type == kEthP_Arp) return kL2Arp;
  return dropVerdict(Drop::unknown_ethertype);
}

// 0/8, 127/8 and class D/E (multicast, reserved, limited broadcast): one
// bit per first octet.
inline bool ip4IsMartian(uint32_t a) {
  static constexpr uint64_t kBits[4] = {1, uint64_t(1) << 63, 0, ~uint64_t(0) << 32};
  uint32_t top = a >> 24;
  return (kBits[top >> 6] >> (top & 63)) & 1;
}

// Whether the usual 20-byte IPv4 header sums to all ones (its checksum is
// right), in three loads and no folding: 2^16 is 1 modulo 0xffff, so a
// 64-bit word is congruent to the sum of its 16-bit words, and a carry out
// of 64 bits (2^64) to 1. The header's words sum to all ones in ones'
// complement exactly when their plain sum is a multiple of 0xffff other
// than 0; `sum` is that sum modulo 2^64 with its carries added back, never
// 0 (the version byte is in it), and the remainder is a multiplication.
inline bool ip4Header20Ok(const void* hdr) {
  const uint8_t* h = static_cast<const uint8_t*>(hdr);
  uint64_t a, b;
  uint32_t w;
  std::memcpy(&a, h, 8);
  std::memcpy(&b, h + 8, 8);
  std::memcpy(&w, h + 16, 4);
  uint64_t sum = a + b;
  sum += sum < b;  // the carry, worth 1
  sum += w;
  sum += sum < w;
  return sum % 0xffff == 0;
}

// Checks the IPv4 header and trims Ethernet padding off the frame.
inline int parseIp4(Pkt& p) {
  uint32_t avail = p.len - p.l2_len;
  if (avail < sizeof(Ip4Hdr)) return dropVerdict(Drop::ip4_truncated);
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(p.l3());
  uint32_t ihl = sizeof(Ip4Hdr);
  if (ip->ver_ihl != 0x45) {  // the usual header, version 4 without options, in one compare
    if ((ip->ver_ihl >> 4) != 4) return dropVerdict(Drop::ip4_bad_version);
    ihl = ip->headerLen();
    if (ihl < sizeof(Ip4Hdr)) return dropVerdict(Drop::ip4_bad_ihl);
    if (ihl > avail) return dropVerdict(Drop::ip4_truncated);
  }
  uint32_t total = be16(ip->total_len);
  if (total < ihl) return dropVerdict(Drop::ip4_bad_length);
  if (total > avail) return dropVerdict(Drop::ip4_truncated);
  if (ihl == sizeof(Ip4Hdr) ? !ip4Header20Ok(ip) : ip4HeaderCsum(ip, ihl) != 0)
    return dropVerdict(Drop::ip4_bad_checksum);
  if (ip4IsMartian(be32(ip->src))) return dropVerdict(Drop::ip4_martian_source);
  p.l3_len = uint8_t(ihl);
  p.len = p.l2_len + total;
  return 0;
}

// The TCP or UDP header of a checked IPv4 packet, for the stages that look
// at ports (local delivery now; conntrack and NAT later): the header is in
// the packet, a UDP length fits it, a TCP data offset is at least 20 bytes.
// Fragments other than the first carry no L4 header. Returns 0 or a drop.
inline int parseL4(const Pkt& p) {
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(p.l3());
  if (be16(ip->frag_off) & kIp4FragOffsetMask) return 0;
  uint32_t l4_len = be16(ip->total_len) - p.l3_len;
  const uint8_t* l4 = p.l3() + p.l3_len;
  if (ip->proto == kIpProtoUdp) {
    if (l4_len < sizeof(UdpHdr)) return dropVerdict(Drop::l4_truncated);
    uint32_t ulen = be16(reinterpret_cast<const UdpHdr*>(l4)->len);
    if (ulen < sizeof(UdpHdr) || ulen > l4_len) return dropVerdict(Drop::l4_truncated);
  } else if (ip->proto == kIpProtoTcp) {
    if (l4_len < sizeof(TcpHdr)) return dropVerdict(Drop::l4_truncated);
    uint32_t off = uint32_t(reinterpret_cast<const TcpHdr*>(l4)->off_res >> 4) * 4;
    if (off < sizeof(TcpHdr) || off > l4_len) return dropVerdict(Drop::l4_truncated);
  }
  return 0;
}

}  // namespace nfvgw
