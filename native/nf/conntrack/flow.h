// The connection a packet belongs to, read from its headers, and what a
// packet of a known connection does to it.
#pragma once

#include <cstdint>

#include "nf/conntrack/conntrack.h"
#include "pkt/headers.h"

namespace nfvgw {

// The connection an IPv4 packet belongs to, as seen from `zone`: TCP and UDP
// by ports, ICMP echo by identifier (the request's as source port, the
// reply's as destination port, so a reply's key is the request's
// reversed). False for what has no connection of its own (ICMP errors,
// other ICMP, later fragments, truncated headers); `tcp_flags` for TCP.
inline bool flowOf(uint32_t zone, const uint8_t* l3, uint32_t avail, FlowKey& k, uint8_t& tcp_flags) {
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(l3);
  const uint32_t ihl = ip->headerLen();
  if (avail < ihl + 8 || (be16(ip->frag_off) & kIp4FragOffsetMask)) return false;
  const uint8_t* l4 = l3 + ihl;
  uint16_t sport = 0, dport = 0;
  if (ip->proto == kIpProtoTcp || ip->proto == kIpProtoUdp) {
    sport = uint16_t(l4[0] << 8 | l4[1]);
    dport = uint16_t(l4[2] << 8 | l4[3]);
    if (ip->proto == kIpProtoTcp) tcp_flags = avail >= ihl + 14 ? l4[13] : 0;
  } else if (ip->proto == kIpProtoIcmp) {
    const uint16_t id = uint16_t(l4[4] << 8 | l4[5]);
    if (l4[0] == kIcmpEchoRequest)
      sport = id;
    else if (l4[0] == kIcmpEchoReply)
      dport = id;
    else
      return false;
  }
  k = FlowKey::make(zone, be32(ip->src), be32(ip->dst), sport, dport, ip->proto);
  return true;
}

// flowOf() for a packet itself, about to be tracked and maybe translated
// (not a header quoted in an ICMP error, of which 8 bytes of TCP are all
// there is): a TCP header cut short of its 20 bytes names no connection,
// or NAT would rewrite a checksum past the end of the packet (found by the
// fuzzer: test/golden/fuzz-regressions.test.ts).
inline bool packetFlowOf(uint32_t zone, const uint8_t* l3, uint32_t avail, FlowKey& k, uint8_t& tcp_flags) {
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(l3);
  if (ip->proto == kIpProtoTcp && !(be16(ip->frag_off) & kIp4FragOffsetMask) &&
      avail < ip->headerLen() + sizeof(TcpHdr))
    return false;
  return flowOf(zone, l3, avail, k, tcp_flags);
}

// The connection an ICMP error (destination unreachable, time exceeded,
// parameter problem; at `l3`, IPv4 total length `total`) is about: the one
// a key of which is its quoted header reversed, read in `zone` (the error
// answers a packet the connection sent), with that key's direction. Empty
// when it is no such error, quotes too little, or names no connection
// current at `now_ms`.
inline ConnHit erredConnection(const ConnTable& ct, const uint8_t* l3, uint32_t total, uint32_t zone, uint32_t now_ms) {
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(l3);
  const uint32_t ihl = ip->headerLen();
  if (ip->proto != kIpProtoIcmp || total < ihl + 8 + sizeof(Ip4Hdr) + 8) return {};
  const uint8_t type = l3[ihl];
  if (type != kIcmpDestUnreach && type != kIcmpTimeExceeded && type != kIcmpParamProblem) return {};
  const uint8_t* quoted = l3 + ihl + 8;
  FlowKey qk;
  uint8_t flags = 0;
  if ((quoted[0] >> 4) != 4 || !flowOf(zone, quoted, total - ihl - 8, qk, flags)) return {};
  return ct.find(qk.reversed(), now_ms);
}

// Moves the connection `h` found on for a packet of protocol `proto` (and
// `tcp_flags`): its state, or else its expiry.
inline void connTrack(const ConnHit& h, uint8_t proto, uint8_t tcp_flags, uint32_t now_ms, const ConnSettings& cfg) {
  const ConnState s = ConnState(h.e->state.load(std::memory_order_relaxed));
  ConnState next = s;
  if (proto == kIpProtoTcp)
    next = tcpNext(s, h.dir, tcp_flags);
  else if (s == ConnState::kUnreplied && h.dir == 1)
    next = ConnState::kReplied;
  if (next == s || !ConnTable::setState(h.e, s, next, now_ms, cfg.timeout(next, proto)))
    ConnTable::refresh(h.e, now_ms, cfg.timeout(s, proto));
}

}  // namespace nfvgw
