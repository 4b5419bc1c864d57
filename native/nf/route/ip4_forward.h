// IPv4 forwarding: route lookup, local delivery, TTL, MTU, next-hop
// resolution and the rewrite for the output port.
#pragma once

#include <bit>
#include <cstring>

#include "dataplane/l3_ctx.h"
#include "nf/arp/arp.h"
#include "pkt/checksum.h"
#include "pkt/headers.h"
#include "pkt/l2.h"

namespace nfvgw {

// A received IPv4 packet whose header has been checked (pkt/parse.h) and
// whose destination `dst` (host order) has been looked up to `nh`:
// delivers it to the gateway, forwards it, or drops it with its reason and
// the ICMP error the kernel would send. Consumes p. The pipeline looks up a
// whole burst first (see dataplane/l3_pipeline.cc).
//
// The common case (a router or a connected host, TTL left, within the MTU)
// is inline; everything else is ip4NotForwarded().
void ip4NotForwarded(L3Ctx& c, Pkt& p, uint32_t dst, const NextHop& nh);
// Transmission when the next hop is not a known router: connected hosts,
// stale or unresolved neighbors (resolution, waiting, drops). `forwarded`:
// counted as ip4_forwarded once sent (else the gateway's own packet).
void ip4TransmitSlow(L3Ctx& c, Pkt& p, const NextHop& nh, uint32_t dst, bool forwarded);

// ip4Transmit() for a caller that has the output port at hand (`out` is
// c.s.ports[nh.port]); `forwarded` as for ip4TransmitSlow().
__attribute__((always_inline)) inline void ip4TransmitOn(L3Ctx& c, Pkt& p, const NextHop& nh, const PortL3& out,
                                                         uint32_t dst, bool forwarded = true) {
  if (nh.kind == NhKind::kVia) {
    // The MAC straight from the adjacency when it is static, else the
    // learned one when fresh (nextHopKnown()).
    uint8_t learned[6];
    const uint8_t* mac = nh.has_static_mac                                   ? nh.static_mac
                         : freshMac(c, false, nullptr, nh.neighbor, learned) ? learned
                                                                             : nullptr;
    if (mac) {
      if (out.vlan == 0 && p.l2_len == sizeof(EthHdr)) {
        // Untagged in and out (writeEthernet's common case, here inline:
        // out of line it is a call per packet): only the addresses change.
        uint8_t* eth = p.data;
        std::memcpy(eth, mac, 6);
        std::memcpy(eth + 6, out.mac, 6);
        const uint16_t type = be16(kEthP_Ip4);
        std::memcpy(eth + 12, &type, 2);
      } else {
        writeEthernet(p, mac, out.mac, out.vlan, kEthP_Ip4);
      }
      c.w.send(p, nh.port);
      if (forwarded) c.event(Event::ip4_forwarded);
      return;
    }
  }
  ip4TransmitSlow(c, p, nh, dst, forwarded);
}

__attribute__((always_inline)) inline void ip4Transmit(L3Ctx& c, Pkt& p, const NextHop& nh, uint32_t dst) {
  ip4TransmitOn(c, p, nh, c.s.ports[nh.port], dst);
}

// One hop: the TTL (> 1, checked by the caller) one less, the checksum
// updated (RFC 1624). TTL and protocol are one 16-bit word for the
// checksum. Compute the new word in a register and store it whole: a byte
// store followed by a 16-bit load of the same bytes stalls store forwarding
// (a third of the forwarding time when it was written that way). The word
// one less makes the checksum one more (eqn. 3 with m' = m - 1: ~m + m' is
// -1), read as stored on a little-endian machine, with the end-around carry,
// as Linux's ip_decrease_ttl does: four instructions instead of eqn. 3's
// general form, and the same result for every checksum (the golden
// forwarding tests send one datagram for each).
inline void ip4DecrementTtl(Ip4Hdr* ip) {
  static_assert(std::endian::native == std::endian::little);
  uint16_t tp;
  std::memcpy(&tp, &ip->ttl, 2);
  tp = uint16_t(tp - 1);  // TTL is the low byte; it is > 1, so no borrow
  std::memcpy(&ip->ttl, &tp, 2);
  const uint32_t check = uint32_t(ip->csum) + 1;
  ip->csum = uint16_t(check + (check >= 0xffff));
}

__attribute__((always_inline)) inline void ip4Forward(L3Ctx& c, Pkt& p, uint32_t dst, const NextHop& nh) {
  Ip4Hdr* ip = reinterpret_cast<Ip4Hdr*>(p.l3());
  const PortL3& out = c.s.ports[nh.port];
  const bool unicast = nh.kind == NhKind::kVia || (nh.kind == NhKind::kConnected && dst != nh.bcast);
  if (!unicast || ip->ttl <= 1 || be16(ip->total_len) > out.mtu) return ip4NotForwarded(c, p, dst, nh);
  ip4DecrementTtl(ip);
  ip4TransmitOn(c, p, nh, out, dst);
}

// A packet the gateway itself originates (echo reply, ICMP error): routes it
// and sends it without touching its TTL. Consumes p.
void ip4Output(L3Ctx& c, Pkt& p);

// Sends the packets waiting for ARP whose next hop has been resolved since,
// and drops those that waited past the retry interval. Once per iteration.
void neighborWaitService(L3Ctx& c);

}  // namespace nfvgw
