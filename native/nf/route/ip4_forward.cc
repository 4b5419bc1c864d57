// IPv4 input, forwarding and local output; see ip4_forward.h.
#include "nf/route/ip4_forward.h"

#include <bit>
#include <cstring>

#include "nf/arp/arp.h"
#include "nf/icmp/icmp.h"
#include "nf/lb/lb.h"
#include "pkt/checksum.h"
#include "pkt/headers.h"
#include "pkt/l2.h"
#include "pkt/parse.h"

namespace nfvgw {

namespace {

inline void sendTo(L3Ctx& c, Pkt& p, uint16_t port, const uint8_t* mac) {
  const PortL3& out = c.s.ports[port];
  writeEthernet(p, mac, out.mac, out.vlan, kEthP_Ip4);
  c.w.send(p, port);
}

// Resolves the next hop, rewrites the frame for the output port and queues
// it. While ARP resolves the next hop the packet waits (NeighborWait); it
// is dropped when the wait is full or the neighbor table is. `forwarded`
// says whether it counts as ip4_forwarded.
__attribute__((noinline)) void holdOrDrop(L3Ctx& c, Pkt& p, const NextHop& nh, uint32_t next, bool forwarded,
                                          Drop why) {
  if (why == Drop::neighbor_unresolved &&
      c.wait.hold(p, nh.port, next, c.w.now_ns + c.s.neighbor.retry_ns, forwarded)) {
    c.w.stats.event(Event::neighbor_wait);
    return;
  }
  c.w.drop(p, why);
}

__attribute__((always_inline)) inline void transmit(L3Ctx& c, Pkt& p, const NextHop& nh, uint32_t dst, bool forwarded) {
  uint8_t mac[6];
  Drop why;
  const bool via = nh.kind == NhKind::kVia;
  const uint32_t next = via ? nh.gateway : dst;
  if (via ? nextHopLookup(c, nh, mac, &why) : neighborLookup(c, nh.port, next, mac, &why)) {
    sendTo(c, p, nh.port, mac);
    if (forwarded) c.event(Event::ip4_forwarded);
    return;
  }
  holdOrDrop(c, p, nh, next, forwarded, why);
}

void localInput(L3Ctx& c, Pkt& p, const Ip4Hdr* ip) {
  if (int v = parseL4(p); v < 0) return c.w.drop(p, verdictDrop(v));
  switch (ip->proto) {
    case kIpProtoIcmp:
      return icmpLocalInput(c, p);
    case kIpProtoUdp:
      icmpSendError(c, p, kIcmpDestUnreach, kIcmpCodePortUnreach, 0);
      return c.w.drop(p, Drop::local_unsupported);
    default:
      return c.w.drop(p, Drop::local_unsupported);
  }
}

}  // namespace

void ip4NotForwarded(L3Ctx& c, Pkt& p, uint32_t dst, const NextHop& nh) {
  Ip4Hdr* ip = reinterpret_cast<Ip4Hdr*>(p.l3());
  switch (nh.kind) {
    case NhKind::kLocal:
      return localInput(c, p, ip);
    case NhKind::kNoRoute:
      icmpSendError(c, p, kIcmpDestUnreach, kIcmpCodeNetUnreach, 0);
      return c.w.drop(p, Drop::ip4_no_route);
    case NhKind::kBlackhole:
      return c.w.drop(p, Drop::ip4_blackhole);
    case NhKind::kUnreachable:
      icmpSendError(c, p, kIcmpDestUnreach, kIcmpCodeHostUnreach, 0);
      return c.w.drop(p, Drop::ip4_unreachable);
    case NhKind::kLoadBalancer:
      return lbInput(c, p);
    case NhKind::kConnected:
    case NhKind::kVia:
      break;
  }
  if (dst == nh.bcast) return c.w.drop(p, Drop::ip4_martian_destination);
  if (ip->ttl <= 1) {
    icmpSendError(c, p, kIcmpTimeExceeded, kIcmpCodeTtlExceeded, 0);
    return c.w.drop(p, Drop::ip4_ttl_expired);
  }
  // No fragmentation on the fast path: DF packets learn the MTU (RFC 1191),
  // the others are dropped and counted.
  if (be16(ip->frag_off) & kIp4FlagDf)
    icmpSendError(c, p, kIcmpDestUnreach, kIcmpCodeFragNeeded, uint16_t(c.s.ports[nh.port].mtu));
  c.w.drop(p, Drop::ip4_mtu_exceeded);
}

void ip4TransmitSlow(L3Ctx& c, Pkt& p, const NextHop& nh, uint32_t dst, bool forwarded) {
  transmit(c, p, nh, dst, forwarded);
}

void ip4Output(L3Ctx& c, Pkt& p) {
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(p.l3());
  const uint32_t dst = be32(ip->dst);
  const NextHop& nh = c.s.routes.lookup(dst);
  if (nh.kind != NhKind::kConnected && nh.kind != NhKind::kVia) return c.w.drop(p, Drop::ip4_no_route);
  const PortL3& out = c.s.ports[nh.port];
  if (be16(ip->total_len) > out.mtu) return c.w.drop(p, Drop::ip4_mtu_exceeded);
  ip4TransmitOn(c, p, nh, out, dst, false);
}

void neighborWaitService(L3Ctx& c) {
  c.wait.drain([&](NeighborWait::Entry& e) {
    uint8_t mac[6];
    if (neighborKnown(c, e.port, e.ip, mac)) {
      sendTo(c, e.pkt, e.port, mac);
      if (e.forwarded) c.event(Event::ip4_forwarded);
      return true;
    }
    if (int64_t(c.w.now_ns - e.deadline_ns) >= 0) {
      c.w.drop(e.pkt, Drop::neighbor_unresolved);
      return true;
    }
    return false;
  });
}

}  // namespace nfvgw
