// VXLAN decapsulation, anti-spoofing, proxy ARP, VPC routing, network ACLs
// and encapsulation; see overlay.h.
//
// Buffers: the inner frame stays where it arrived. Rewriting it for the
// destination changes only its Ethernet addresses (and TTL), and the new
// outer headers are written in front of it, where the old ones were, so a
// routed packet is never copied.
#include "nf/vpc/overlay.h"

#include <bit>
#include <cstring>

#include "core/flat_map.h"
#include "nf/acl/network_acl.h"
#include "nf/icmp/icmp.h"
#include "nf/route/ip4_forward.h"
#include "nf/vxlan/vxlan.h"
#include "pkt/checksum.h"
#include "pkt/headers.h"
#include "pkt/l2.h"
#include "pkt/parse.h"

namespace nfvgw {

namespace {

constexpr uint8_t kOuterTtl = 64;

// The inner frame of a VXLAN packet as a descriptor of its own (same buffer).
Pkt innerView(const Pkt& p, uint8_t* inner, uint32_t len) {
  Pkt in = p;
  in.data = inner;
  in.addr = uint64_t(int64_t(p.addr) + (inner - p.data));
  in.len = len;
  in.l2_len = sizeof(EthHdr);
  in.l3_len = 0;
  in.vlan = 0;
  in.ethertype = 0;
  return in;
}

// The outer UDP source port, from the inner flow (RFC 7348 section 5: the
// entropy receivers spread flows with), in 49152-65535.
uint16_t flowPort(const Pkt& in) {
  const uint8_t* d = in.data;
  uint64_t h = 0;
  uint16_t type;
  std::memcpy(&type, d + 12, 2);
  if (be16(type) == kEthP_Ip4 && in.len >= sizeof(EthHdr) + sizeof(Ip4Hdr)) {
    const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(d + sizeof(EthHdr));
    h = ((uint64_t(ip->src) << 32) | ip->dst) ^ (uint64_t(ip->proto) << 56);
    const uint32_t ihl = ip->headerLen();
    if ((ip->proto == kIpProtoTcp || ip->proto == kIpProtoUdp) && !(be16(ip->frag_off) & kIp4FragOffsetMask) &&
        in.len >= sizeof(EthHdr) + ihl + 4) {
      uint32_t ports;
      std::memcpy(&ports, d + sizeof(EthHdr) + ihl, 4);
      h ^= uint64_t(ports) * 0x9e3779b97f4a7c15ull;
    }
  } else {
    uint64_t a = 0, b = 0;
    std::memcpy(&a, d, 6);
    std::memcpy(&b, d + 6, 6);
    h = a ^ (b << 7);
  }
  return uint16_t(49152 + (hash64(h) & 16383));
}

bool underlayKnown(const L3Ctx& c, const UnderlayAdj& adj, uint8_t* mac) {
  if (adj.has_static_mac) {
    std::memcpy(mac, adj.static_mac, 6);
    return true;
  }
  if (const NeighborTable::Entry* e = adj.neighbor) {
    uint64_t v = e->mac.load(std::memory_order_acquire);
    uint64_t age = c.w.now_ns - e->confirmed_ns.load(std::memory_order_relaxed);
    if ((v & NeighborTable::kResolved) && age < c.s.neighbor.reachable_ns) {
      NeighborTable::unpackMac(v, mac);
      return true;
    }
  }
  return false;
}

// Writes the outer headers in front of the inner frame `in` (in p's
// buffer) and sends p to `dst`'s VTEP with `vni`. Consumes p.
void encapsulate(L3Ctx& c, Pkt& p, const Pkt& in, const Eni& dst, uint32_t vni) {
  const OverlayTables& o = c.s.overlay;
  if (!dst.vtep) return c.w.drop(p, Drop::overlay_eni_detached);
  const UnderlayAdj& adj = o.underlay[dst.underlay];
  if (!adj.routable) return c.w.drop(p, Drop::ip4_no_route);
  uint8_t* inner = in.data;
  const uint32_t outer_len = kVxlanOuterL3 + in.len;
  VxlanHdr* vx = reinterpret_cast<VxlanHdr*>(inner - sizeof(VxlanHdr));
  UdpHdr* udp = reinterpret_cast<UdpHdr*>(inner - sizeof(VxlanHdr) - sizeof(UdpHdr));
  Ip4Hdr* ip = reinterpret_cast<Ip4Hdr*>(inner - kVxlanOuterL3);
  vxlanWrite(vx, vni);
  udp->sport = be16(flowPort(in));
  udp->dport = be16(o.udp_port);
  udp->len = be16(uint16_t(in.len + sizeof(UdpHdr) + sizeof(VxlanHdr)));
  udp->csum = 0;  // allowed for VXLAN over IPv4 (RFC 7348 section 5)
  ip->ver_ihl = 0x45;
  ip->tos = 0;
  ip->total_len = be16(uint16_t(outer_len));
  ip->id = 0;
  ip->frag_off = be16(kIp4FlagDf);  // never fragmented: oversize frames were refused before
  ip->ttl = kOuterTtl;
  ip->proto = kIpProtoUdp;
  ip->csum = 0;
  ip->src = be32(o.vtep_ip);
  ip->dst = be32(dst.vtep);
  ip->csum = ip4HeaderCsum(ip, sizeof(Ip4Hdr));
  uint8_t* start = reinterpret_cast<uint8_t*>(ip) - sizeof(EthHdr);
  p.addr = uint64_t(int64_t(p.addr) + (start - p.data));
  p.data = start;
  p.l2_len = sizeof(EthHdr);
  p.l3_len = sizeof(Ip4Hdr);
  p.len = sizeof(EthHdr) + outer_len;
  c.w.stats.event(Event::vxlan_encapsulated);
  uint8_t mac[6];
  if (underlayKnown(c, adj, mac)) {
    const PortL3& out = c.s.ports[adj.port];
    writeEthernet(p, mac, out.mac, out.vlan, kEthP_Ip4);
    c.w.send(p, adj.port);
    return;
  }
  ip4Output(c, p);  // resolves the underlay next hop (ARP), or waits for it
}

// An ICMP error about the inner packet `in`, from the gateway of the source
// ENI's subnet, encapsulated back to it.
void overlayIcmpError(L3Ctx& c, const Pkt& in, const Eni& src, uint8_t type, uint8_t code, uint16_t mtu) {
  const OverlayTables& o = c.s.overlay;
  if (!icmpErrorAllowed(c, in)) return;
  Pkt q;
  if (!c.w.pool.allocPkt(&q, in.port)) return;
  uint8_t* inner = q.data + kVxlanOverhead;
  EthHdr* eth = reinterpret_cast<EthHdr*>(inner);
  macCopy(eth->dst, src.mac);
  macCopy(eth->src, o.router_mac);
  eth->type = be16(kEthP_Ip4);
  uint32_t l3 = icmpWriteError(inner + sizeof(EthHdr), in, o.subnets[src.subnet].gateway, type, code, mtu);
  Pkt qi = innerView(q, inner, sizeof(EthHdr) + l3);
  c.w.stats.event(Event::overlay_icmp_error_sent);
  encapsulate(c, q, qi, src, o.vnis[src.vpc]);
}

// False (and p dropped) when the inner frame, encapsulated, would not fit
// the underlay MTU towards `dst`.
bool fitsUnderlay(L3Ctx& c, Pkt& p, const Pkt& in, const Eni& src, const Eni& dst) {
  const OverlayTables& o = c.s.overlay;
  if (!dst.vtep) return true;  // encapsulate() drops it as detached
  const uint32_t mtu = c.s.ports[o.underlay[dst.underlay].port].mtu;
  if (kVxlanOuterL3 + in.len <= mtu) return true;
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(in.l3());
  if (in.l3_len && (be16(ip->frag_off) & kIp4FlagDf))
    overlayIcmpError(c, in, src, kIcmpDestUnreach, kIcmpCodeFragNeeded, uint16_t(mtu - kVxlanOverhead));
  c.w.drop(p, Drop::overlay_mtu_exceeded);
  return false;
}

uint32_t indexOf(const OverlayTables& o, const Eni& e) { return uint32_t(&e - o.enis.data()); }

void overlayArp(L3Ctx& c, Pkt& p, Pkt& in, uint32_t vpc, const Eni& src) {
  const OverlayTables& o = c.s.overlay;
  if (in.len < sizeof(EthHdr) + sizeof(ArpHdr)) return c.w.drop(p, Drop::arp_malformed);
  ArpHdr* a = reinterpret_cast<ArpHdr*>(in.data + sizeof(EthHdr));
  if (be16(a->htype) != 1 || be16(a->ptype) != kEthP_Ip4 || a->hlen != 6 || a->plen != 4)
    return c.w.drop(p, Drop::arp_malformed);
  const uint32_t spa = be32(a->spa);
  const uint32_t tpa = be32(a->tpa);
  // Only requests get answers; probes (no sender address) and
  // announcements (asking for oneself) need none.
  if (be16(a->op) != kArpOpRequest || spa == 0 || spa == tpa) return c.w.drop(p, Drop::overlay_arp_unknown);
  if (!macEqual(a->sha, src.mac) || o.eniByIp(vpc, spa) != int64_t(indexOf(o, src)))
    return c.w.drop(p, Drop::overlay_spoofed);
  const VpcSubnet& subnet = o.subnets[src.subnet];
  const uint8_t* answer;
  if (tpa == subnet.gateway) {
    answer = o.router_mac;
  } else {
    int64_t e = o.eniByIp(vpc, tpa);
    if (e < 0 || o.enis[e].subnet != src.subnet) return c.w.drop(p, Drop::overlay_arp_unknown);
    answer = o.enis[e].mac;
  }
  a->op = be16(kArpOpReply);
  macCopy(a->tha, a->sha);
  a->tpa = a->spa;
  macCopy(a->sha, answer);
  a->spa = be32(tpa);
  EthHdr* eth = reinterpret_cast<EthHdr*>(in.data);
  macCopy(eth->dst, src.mac);
  macCopy(eth->src, answer);
  in.len = sizeof(EthHdr) + sizeof(ArpHdr);
  c.w.stats.event(Event::overlay_arp_reply_sent);
  encapsulate(c, p, in, src, o.vnis[vpc]);
}

// An echo request to the subnet's gateway address: answered, so that a VM
// (or its operator) can ping its router. True when it was one.
bool gatewayEcho(L3Ctx& c, Pkt& p, Pkt& in, const Eni& src, uint32_t vpc) {
  Ip4Hdr* ip = reinterpret_cast<Ip4Hdr*>(in.l3());
  if (ip->proto != kIpProtoIcmp || (be16(ip->frag_off) & (kIp4FlagMf | kIp4FragOffsetMask))) return false;
  const uint32_t len = be16(ip->total_len) - in.l3_len;
  IcmpHdr* icmp = reinterpret_cast<IcmpHdr*>(in.l3() + in.l3_len);
  if (len < sizeof(IcmpHdr) || icmp->type != kIcmpEchoRequest || icmp->code != 0) return false;
  if (csum(icmp, len) != 0) {
    c.w.drop(p, Drop::icmp_bad_checksum);
    return true;
  }
  uint16_t old_tc, new_tc;
  std::memcpy(&old_tc, icmp, 2);
  new_tc = uint16_t((old_tc & 0xff00) | kIcmpEchoReply);  // type: the low byte (little-endian)
  std::memcpy(icmp, &new_tc, 2);
  icmp->csum = csumReplace16(icmp->csum, old_tc, new_tc);
  const uint32_t a = ip->src;  // swapping the addresses leaves the IP checksum as it is
  ip->src = ip->dst;
  ip->dst = a;
  uint16_t old_tp, new_tp;
  std::memcpy(&old_tp, &ip->ttl, 2);
  new_tp = uint16_t((old_tp & 0xff00) | 64);
  std::memcpy(&ip->ttl, &new_tp, 2);
  ip->csum = csumReplace16(ip->csum, old_tp, new_tp);
  EthHdr* eth = reinterpret_cast<EthHdr*>(in.data);
  macCopy(eth->dst, src.mac);
  macCopy(eth->src, c.s.overlay.router_mac);
  c.w.stats.event(Event::icmp_echo_reply_sent);
  encapsulate(c, p, in, src, c.s.overlay.vnis[vpc]);
  return true;
}

// The destination port for the ACLs: TCP and UDP first fragments only.
bool l4DestPort(const Pkt& in, uint16_t* port) {
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(in.l3());
  if (ip->proto != kIpProtoTcp && ip->proto != kIpProtoUdp) return false;
  if (be16(ip->frag_off) & kIp4FragOffsetMask) return false;
  if (be16(ip->total_len) < in.l3_len + 4u) return false;
  uint16_t d;
  std::memcpy(&d, in.l3() + in.l3_len + 2, 2);
  *port = be16(d);
  return true;
}

}  // namespace

void overlayInput(L3Ctx& c, Pkt& p) {
  const OverlayTables& o = c.s.overlay;
  const Ip4Hdr* oip = reinterpret_cast<const Ip4Hdr*>(p.l3());
  if (be16(oip->frag_off) & (kIp4FlagMf | kIp4FragOffsetMask)) return c.w.drop(p, Drop::vxlan_fragmented);
  const uint32_t l4_len = be16(oip->total_len) - p.l3_len;
  uint8_t* l4 = p.l3() + p.l3_len;
  constexpr uint32_t kMin = sizeof(UdpHdr) + sizeof(VxlanHdr) + sizeof(EthHdr);
  if (l4_len < kMin) return c.w.drop(p, Drop::vxlan_truncated);
  const uint32_t udp_len = be16(reinterpret_cast<const UdpHdr*>(l4)->len);
  if (udp_len < kMin || udp_len > l4_len) return c.w.drop(p, Drop::vxlan_truncated);
  const VxlanHdr* vx = reinterpret_cast<const VxlanHdr*>(l4 + sizeof(UdpHdr));
  if (!(vx->flags & kVxlanFlagI)) return c.w.drop(p, Drop::vxlan_bad_flags);
  const uint32_t* vpc_index = o.vpcByVni(vxlanVni(vx));
  if (!vpc_index) return c.w.drop(p, Drop::vxlan_unknown_vni);
  const uint32_t vpc = *vpc_index;
  c.w.stats.event(Event::vxlan_decapsulated);

  Pkt in = innerView(p, l4 + sizeof(UdpHdr) + sizeof(VxlanHdr), udp_len - sizeof(UdpHdr) - sizeof(VxlanHdr));
  EthHdr* eth = reinterpret_cast<EthHdr*>(in.data);
  const uint16_t type = be16(eth->type);
  if (type == kEthP_Vlan) return c.w.drop(p, Drop::overlay_inner_vlan);

  // Anti-spoofing, first half: the frame comes from a known ENI, through the
  // hypervisor it is attached to.
  const Eni* src = o.eniByMac(vpc, eth->src);
  if (!src || src->vtep != be32(oip->src)) return c.w.drop(p, Drop::overlay_spoofed);
  if (type == kEthP_Arp) return overlayArp(c, p, in, vpc, *src);
  if (type != kEthP_Ip4) return c.w.drop(p, Drop::unknown_ethertype);
  if (int v = parseIp4(in); v < 0) return c.w.drop(p, verdictDrop(v));

  Ip4Hdr* ip = reinterpret_cast<Ip4Hdr*>(in.l3());
  const uint32_t isrc = be32(ip->src);
  const uint32_t idst = be32(ip->dst);
  // Second half: from one of the ENI's own addresses.
  if (o.eniByIp(vpc, isrc) != int64_t(indexOf(o, *src))) return c.w.drop(p, Drop::overlay_spoofed);
  if (ip4IsMartian(idst)) return c.w.drop(p, Drop::ip4_martian_destination);

  // Addressed to another ENI's MAC: switched within the subnet, untouched.
  if (!macEqual(eth->dst, o.router_mac)) {
    if (macIsMulticast(eth->dst)) return c.w.drop(p, Drop::overlay_broadcast);
    const Eni* dst = o.eniByMac(vpc, eth->dst);
    if (!dst || dst->subnet != src->subnet) return c.w.drop(p, Drop::overlay_unknown_destination);
    if (!fitsUnderlay(c, p, in, *src, *dst)) return;
    c.w.stats.event(Event::overlay_switched);
    return encapsulate(c, p, in, *dst, o.vnis[vpc]);
  }

  // Addressed to the router: the source subnet's route table decides.
  const VpcSubnet& from = o.subnets[src->subnet];
  if (idst == from.gateway && gatewayEcho(c, p, in, *src, vpc)) return;
  const OverlayTarget* t = &o.targets[o.route_tables[from.route_table].lookup(idst)];
  int64_t dst_index = -1;
  switch (t->kind) {
    case OverlayKind::kLocal:
    case OverlayKind::kPeering:
      dst_index = o.eniByIp(t->vpc, idst);
      break;
    case OverlayKind::kTransit:
      t = &o.targets[o.transit_tables[t->tgw].lookup(idst)];
      if (t->kind == OverlayKind::kAttachment) {
        dst_index = o.eniByIp(t->vpc, idst);
        break;
      }
      if (t->kind == OverlayKind::kBlackhole) return c.w.drop(p, Drop::overlay_blackhole);
      overlayIcmpError(c, in, *src, kIcmpDestUnreach, kIcmpCodeNetUnreach, 0);
      return c.w.drop(p, Drop::overlay_no_route);
    case OverlayKind::kEni:
      dst_index = t->eni;
      break;
    case OverlayKind::kBlackhole:
      return c.w.drop(p, Drop::overlay_blackhole);
    case OverlayKind::kNone:
    case OverlayKind::kAttachment:
      overlayIcmpError(c, in, *src, kIcmpDestUnreach, kIcmpCodeNetUnreach, 0);
      return c.w.drop(p, Drop::overlay_no_route);
  }
  if (dst_index < 0) {
    overlayIcmpError(c, in, *src, kIcmpDestUnreach, kIcmpCodeHostUnreach, 0);
    return c.w.drop(p, Drop::overlay_no_eni);
  }
  const Eni& dst = o.enis[dst_index];

  // Network ACLs where the packet crosses a subnet boundary: the one it
  // leaves (outbound), then the one it enters (inbound).
  if (dst.subnet != src->subnet) {
    uint16_t dport = 0;
    const bool has_ports = l4DestPort(in, &dport);
    if (from.acl >= 0 && !aclAllows(o.acls[from.acl].outbound, ip->proto, dport, has_ports, idst))
      return c.w.drop(p, Drop::acl_outbound_denied);
    const VpcSubnet& to = o.subnets[dst.subnet];
    if (to.acl >= 0 && !aclAllows(o.acls[to.acl].inbound, ip->proto, dport, has_ports, isrc))
      return c.w.drop(p, Drop::acl_inbound_denied);
  }
  if (ip->ttl <= 1) {
    overlayIcmpError(c, in, *src, kIcmpTimeExceeded, kIcmpCodeTtlExceeded, 0);
    return c.w.drop(p, Drop::ip4_ttl_expired);
  }
  if (!fitsUnderlay(c, p, in, *src, dst)) return;
  static_assert(std::endian::native == std::endian::little);
  uint16_t old_tp;
  std::memcpy(&old_tp, &ip->ttl, 2);
  uint16_t new_tp = uint16_t(old_tp - 1);  // TTL is the low byte; > 1 here
  std::memcpy(&ip->ttl, &new_tp, 2);
  ip->csum = csumReplace16(ip->csum, old_tp, new_tp);
  macCopy(eth->dst, dst.mac);
  macCopy(eth->src, o.router_mac);
  c.w.stats.event(Event::overlay_routed);
  encapsulate(c, p, in, dst, o.vnis[dst.vpc]);
}

}  // namespace nfvgw
