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
#include "nf/conntrack/flow.h"
#include "nf/icmp/icmp.h"
#include "nf/lb/lb.h"
#include "nf/nat/nat.h"
#include "nf/route/ip4_forward.h"
#include "nf/vxlan/vxlan.h"
#include "pkt/checksum.h"
#include "pkt/headers.h"
#include "pkt/l2.h"
#include "pkt/parse.h"
#include "pkt/rewrite.h"

namespace nfvgw {

namespace {

// The outer UDP source port, from the inner flow (RFC 7348 section 5: the
// entropy receivers spread flows with), in 49152-65535: addresses, protocol
// and, for TCP and UDP, ports (`ports` as stored, 0 for other protocols),
// mixed by one multiplication.
uint16_t entropyPort(uint32_t src, uint32_t dst, uint8_t proto, uint32_t ports) {
  uint64_t h = ((uint64_t(src) << 32) | dst) ^ proto;
  h += uint64_t(ports) << 17;
  h *= 0x9e3779b97f4a7c15ull;
  return uint16_t(49152 + ((h ^ (h >> 32)) >> 18 & 16383));
}

// The same for any inner frame the gateway sends (replies, ICMP errors).
uint16_t flowPort(const Pkt& in) {
  const uint8_t* d = in.data;
  uint16_t type;
  std::memcpy(&type, d + 12, 2);
  if (be16(type) == kEthP_Ip4 && in.len >= sizeof(EthHdr) + sizeof(Ip4Hdr)) {
    const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(d + sizeof(EthHdr));
    const uint32_t ihl = ip->headerLen();
    uint32_t ports = 0;
    if ((ip->proto == kIpProtoTcp || ip->proto == kIpProtoUdp) && !(be16(ip->frag_off) & kIp4FragOffsetMask) &&
        in.len >= sizeof(EthHdr) + ihl + 4)
      std::memcpy(&ports, d + sizeof(EthHdr) + ihl, 4);
    return entropyPort(ip->src, ip->dst, ip->proto, ports);
  }
  uint32_t a, b;
  std::memcpy(&a, d + 2, 4);
  std::memcpy(&b, d + 8, 4);
  return entropyPort(a, b, 0, 0);
}

// The underlay MAC address towards `adj`, when known.
__attribute__((always_inline)) inline bool underlayKnown(const L3Ctx& c, const UnderlayAdj& adj, uint8_t* mac) {
  return freshMac(c, adj.has_static_mac, adj.static_mac, adj.neighbor, mac);
}

// Writes the outer IPv4, UDP and VXLAN headers towards `adj` in front of
// the inner frame (`inner`, `inner_len` bytes, in p's buffer) and makes p
// that IPv4 packet, with room for an Ethernet header in front.
__attribute__((always_inline)) inline void writeOuter(Pkt& p, uint8_t* inner, uint32_t inner_len,
                                                      const UnderlayAdj& adj, uint32_t vni, uint16_t sport) {
  uint8_t* l3 = inner - kVxlanOuterL3;
  std::memcpy(l3, adj.outer, kVxlanOuterL3);
  Ip4Hdr* ip = reinterpret_cast<Ip4Hdr*>(l3);
  UdpHdr* udp = reinterpret_cast<UdpHdr*>(l3 + sizeof(Ip4Hdr));
  const uint16_t total = be16(uint16_t(kVxlanOuterL3 + inner_len));
  ip->total_len = total;
  ip->csum = csumFold(adj.csum_partial + total);
  udp->sport = be16(sport);
  udp->len = be16(uint16_t(inner_len + sizeof(UdpHdr) + sizeof(VxlanHdr)));
  const uint32_t vni_word = be32(vni << 8);  // the VNI and the reserved byte after it
  std::memcpy(l3 + sizeof(Ip4Hdr) + sizeof(UdpHdr) + 4, &vni_word, 4);
  uint8_t* start = l3 - sizeof(EthHdr);
  p.addr = uint64_t(int64_t(p.addr) + (start - p.data));
  p.data = start;
  p.l2_len = sizeof(EthHdr);
  p.l3_len = sizeof(Ip4Hdr);
  p.len = sizeof(EthHdr) + kVxlanOuterL3 + inner_len;
}

// Sends an encapsulated p (writeOuter) on the underlay: to `mac` when it is
// known (`resolved`), else through ARP resolution and its hold queue.
__attribute__((always_inline)) inline void sendUnderlay(L3Ctx& c, Pkt& p, const UnderlayAdj& adj, bool resolved,
                                                        const uint8_t* mac) {
  c.event(Event::vxlan_encapsulated);
  if (!resolved) return ip4Output(c, p);
  if (adj.vlan) {
    writeEthernet(p, mac, adj.port_mac, adj.vlan, kEthP_Ip4);
  } else {
    std::memcpy(p.data, mac, 6);
    std::memcpy(p.data + 6, adj.port_mac, 6);
    const uint16_t type = be16(kEthP_Ip4);
    std::memcpy(p.data + 12, &type, 2);
  }
  c.w.send(p, adj.port);
}

}  // namespace

void encapsulate(L3Ctx& c, Pkt& p, const Pkt& in, const Eni& dst, uint32_t vni) {
  if (!dst.vtep) return c.w.drop(p, Drop::overlay_eni_detached);
  const UnderlayAdj& adj = c.s.overlay.underlay[dst.underlay];
  if (!adj.routable) return c.w.drop(p, Drop::ip4_no_route);
  uint8_t mac[6];
  const bool resolved = underlayKnown(c, adj, mac);
  writeOuter(p, in.data, in.len, adj, vni, flowPort(in));
  sendUnderlay(c, p, adj, resolved, mac);
}

namespace {

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
  c.event(Event::overlay_icmp_error_sent);
  encapsulate(c, q, qi, src, o.vnis[src.vpc]);
}

// Drops p, whose inner frame `in`, encapsulated, would not fit the
// underlay MTU, with an ICMP fragmentation-needed to its source when it
// says DF.
__attribute__((noinline)) void dropOversize(L3Ctx& c, Pkt& p, const Pkt& in, const Eni& src, uint32_t mtu) {
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(in.l3());
  if (be16(ip->frag_off) & kIp4FlagDf)
    overlayIcmpError(c, in, src, kIcmpDestUnreach, kIcmpCodeFragNeeded, uint16_t(mtu - kVxlanOverhead));
  c.w.drop(p, Drop::overlay_mtu_exceeded);
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
  if (tpa == subnet.gateway || c.s.lb.vpcVip(o.vnis[vpc], tpa) || c.s.lb.vpcLocal(o.vnis[vpc], tpa)) {
    // The subnet's router, and the VPC's internal load balancers (their
    // VIPs and fullnat local addresses): they are reached through it.
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
  c.event(Event::overlay_arp_reply_sent);
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
  c.event(Event::icmp_echo_reply_sent);
  encapsulate(c, p, in, src, c.s.overlay.vnis[vpc]);
  return true;
}

// What the stages below know of one packet of the burst.
struct Work {
  Pkt* p;  // the VXLAN packet
  Pkt in;  // its inner frame
  const Eni* src;
  const Eni* dst;         // where it goes; null once it has been dropped
  const VpcSubnet* from;  // routed: the source subnet
  uint32_t vpc;
  uint32_t vtep;        // the outer source: the sending hypervisor
  uint32_t isrc, idst;  // inner addresses, host order
  uint32_t ports;       // TCP and UDP ports as stored, else 0
  uint32_t target;      // routed: the route table's answer
  uint8_t proto;
  bool has_ports;
  bool routed;                  // to the router MAC (else switched)
  const OverlayTarget* egress;  // routed to a NAT gateway or the internet gateway (dst is null)
  // The security groups' view (stage 5): whether the two ENIs' groups
  // leave anything to track, and the connection key when there is one.
  // For a packet balance() or fullnatReply() translated: keyed, and its key
  // as its sender sent it (untranslate).
  bool untracked;
  bool keyed;
  bool balanced;    // to an internal load balancer's VIP: scheduled and tracked already
  bool from_vip;    // from a VIP of an internal dr or tunnel service, by one of its backends
  uint32_t tunnel;  // balanced to a backend of a tunnel service: its address (host order), else 0
  uint8_t tcp_flags;
  FlowKey key;
  uint32_t bucket;  // the connection table's bucket of key, when stage 5 keyed it (hashed once)
};

// Stage 1: the outer headers, the VNI and the inner frame. False when p is
// done with (dropped, or an ARP request answered).
__attribute__((always_inline)) inline bool decapsulate(L3Ctx& c, Pkt& p, Work& w) {
  const OverlayTables& o = c.s.overlay;
  const Ip4Hdr* oip = reinterpret_cast<const Ip4Hdr*>(p.l3());
  auto drop = [&](Drop why) {
    c.w.drop(p, why);
    return false;
  };
  if (be16(oip->frag_off) & (kIp4FlagMf | kIp4FragOffsetMask)) return drop(Drop::vxlan_fragmented);
  const uint32_t l4_len = be16(oip->total_len) - p.l3_len;
  uint8_t* l4 = p.l3() + p.l3_len;
  constexpr uint32_t kMin = sizeof(UdpHdr) + sizeof(VxlanHdr) + sizeof(EthHdr);
  if (l4_len < kMin) return drop(Drop::vxlan_truncated);
  const uint32_t udp_len = be16(reinterpret_cast<const UdpHdr*>(l4)->len);
  if (udp_len < kMin || udp_len > l4_len) return drop(Drop::vxlan_truncated);
  const VxlanHdr* vx = reinterpret_cast<const VxlanHdr*>(l4 + sizeof(UdpHdr));
  if (!(vx->flags & kVxlanFlagI)) return drop(Drop::vxlan_bad_flags);
  const uint32_t* vpc = o.vpcByVni(vxlanVni(vx));
  if (!vpc) return drop(Drop::vxlan_unknown_vni);
  w.vpc = *vpc;
  w.vtep = be32(oip->src);
  c.event(Event::vxlan_decapsulated);
  NFVGW_TRACE(c.w, p, vxlan_decap, vxlanVni(vx), w.vpc, 0);

  Pkt& in = w.in;
  in = innerView(p, l4 + sizeof(UdpHdr) + sizeof(VxlanHdr), udp_len - sizeof(UdpHdr) - sizeof(VxlanHdr));
  const EthHdr* eth = reinterpret_cast<const EthHdr*>(in.data);
  const uint16_t type = be16(eth->type);
  if (type == kEthP_Ip4) {
    if (int v = parseIp4(in); v < 0) return drop(verdictDrop(v));
    return true;
  }
  if (type == kEthP_Vlan) return drop(Drop::overlay_inner_vlan);
  if (type != kEthP_Arp) return drop(Drop::unknown_ethertype);
  // ARP: the MAC finds the ENI (anti-spoofing as below).
  const Eni* src = o.eniByMac(w.vpc, eth->src);
  if (!src || src->vtep != w.vtep) return drop(Drop::overlay_spoofed);
  overlayArp(c, p, in, w.vpc, *src);
  return false;
}

// The ENI that may send from `ip`, which no ENI holds: a backend of an
// internal dr or tunnel service answering from its VIP (LVS/DR: the VIP is
// on the backend's loopback; LVS/TUN: on its tunnel device). The MAC finds
// the ENI, which must be a backend of a dr or tunnel service of that VIP;
// the caller checks its hypervisor. The ENI's index, or -1.
__attribute__((noinline)) int64_t vipSender(const L3Ctx& c, uint32_t vpc, const uint8_t* mac, uint32_t ip) {
  const OverlayTables& o = c.s.overlay;
  const Eni* e = o.eniByMac(vpc, mac);
  if (!e || !c.s.lb.vpcVipSender(indexOf(o, *e), ip)) return -1;
  return indexOf(o, *e);
}

// Stage 2: anti-spoofing, then the destination when the frame is switched.
// The frame must come from a known ENI (VNI and MAC), through the
// hypervisor it is attached to, from one of its own addresses: the address
// finds the ENI (one lookup), the MAC and VTEP must then be that ENI's.
// The one other address an ENI may send from is the VIP of an internal dr
// or tunnel service it is a backend of (vipSender; a second lookup only in
// VPCs with such services).
// False when p is done with (dropped, or an echo to the gateway answered).
__attribute__((always_inline)) inline bool checkSource(L3Ctx& c, Pkt& p, Work& w) {
  const OverlayTables& o = c.s.overlay;
  auto drop = [&](Drop why) {
    c.w.drop(p, why);
    return false;
  };
  Pkt& in = w.in;
  const EthHdr* eth = reinterpret_cast<const EthHdr*>(in.data);
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(in.l3());
  w.isrc = be32(ip->src);
  w.idst = be32(ip->dst);
  w.proto = ip->proto;
  int64_t src_index = o.eniByIp(w.vpc, w.isrc);
  w.from_vip = false;
  if (src_index < 0) {
    if (c.s.lb.hasVpcVipSenders()) src_index = vipSender(c, w.vpc, eth->src, w.isrc);
    if (src_index < 0) return drop(Drop::overlay_spoofed);
    w.from_vip = true;
  }
  const Eni& src = o.enis[src_index];
  if (src.vtep != w.vtep || !macEqual(src.mac, eth->src)) return drop(Drop::overlay_spoofed);
  if (ip4IsMartian(w.idst)) return drop(Drop::ip4_martian_destination);
  w.src = &src;
  NFVGW_TRACE(c.w, p, eni_source, uint32_t(src_index), macEqual(eth->dst, o.router_mac), 0);

  // TCP and UDP ports (first fragments): for the ACLs and the flow hash.
  w.ports = 0;
  w.has_ports = (w.proto == kIpProtoTcp || w.proto == kIpProtoUdp) && !(be16(ip->frag_off) & kIp4FragOffsetMask) &&
                be16(ip->total_len) >= in.l3_len + 4u;
  if (w.has_ports) std::memcpy(&w.ports, in.l3() + in.l3_len, 4);

  // Addressed to another ENI's MAC: switched within the subnet, untouched.
  // Addressed to the router: routed by the source subnet's table (stage 3).
  w.routed = macEqual(eth->dst, o.router_mac);
  if (!w.routed) {
    if (macIsMulticast(eth->dst)) return drop(Drop::overlay_broadcast);
    w.dst = o.eniByMac(w.vpc, eth->dst);
    if (!w.dst || w.dst->subnet != src.subnet) return drop(Drop::overlay_unknown_destination);
    return true;
  }
  w.from = &o.subnets[src.subnet];
  if (w.idst == w.from->gateway && gatewayEcho(c, p, in, src, w.vpc)) return false;
  return true;
}

constexpr int64_t kDropped = -2;

// An internal load balancer (nf/lb inside a VPC): a routed packet to a VIP
// of VPC `vpc` goes to a backend ENI. Its connection is found, or made (the
// backend scheduled, the security groups of the client (outbound, to the
// VIP) and of the backend (inbound, on the backend's port, from the source
// it will see) asked), and the packet marked as tracked. nat rewrites the
// destination to the backend; fullnat the source to a local address and
// port too; dr leaves the IP header as it is (the backend holds the VIP),
// and delivery gives the frame the backend ENI's MAC as for any routed
// packet; tunnel leaves it as it is too, and delivery puts it in IP-in-IP
// to the backend (tunnelDeliver).
//
// The reply key of a connection is what the backend's replies carry: from
// the backend to the client (nat) or to the local address (fullnat), and
// the packet leaves with that key's addresses reversed. A dr or tunnel
// backend answers from the VIP, so its reply key is the request's reversed
// (in the VIP's VPC) and names no backend: the connection's backend slot
// does, and says which of the two (LbTables::vpcDirectBackend). A reply key
// from the VIP so says dr or tunnel.
//
// Returns the backend's ENI, -1 when the address is no VIP (or the packet
// no TCP or UDP), kDropped when p was dropped.
__attribute__((noinline)) int64_t balance(L3Ctx& c, Work& w, uint32_t vpc) {
  const OverlayTables& o = c.s.overlay;
  Pkt& p = *w.p;
  const uint32_t vni = o.vnis[vpc];
  if (!w.has_ports) return -1;
  const uint16_t vport = be16(uint16_t(w.ports >> 16));
  const LbService* s = c.s.lb.vpcService(vni, w.idst, w.proto, vport);
  if (!s) return -1;
  auto drop = [&](Drop why) {
    c.w.drop(p, why);
    return kDropped;
  };
  uint8_t* l3 = w.in.l3();
  FlowKey k;
  uint8_t flags = 0;
  if (!packetFlowOf(o.vnis[w.src->vpc], l3, be16(reinterpret_cast<const Ip4Hdr*>(l3)->total_len), k, flags))
    return drop(Drop::lb_untranslatable);
  const uint32_t now_ms = c.nowMs();
  FlowKey reply;
  uint32_t backend = 0;  // known here for a new connection
  int32_t slot;
  if (const ConnHit h = c.ct.find(k, now_ms); h.e && h.dir == 0) {
    connTrack(h, k.proto(), flags, now_ms, c.s.conntrack);
    reply = h.e->keyOf(1);
    slot = ConnTable::backendOf(h.e);
  } else {
    if (flags & kTcpRst) return drop(Drop::lb_no_connection);
    if (s->pick.empty()) return drop(Drop::lb_no_backend);
    const LbBackend& b = lbSchedule(c, *s, k);
    backend = b.ip;
    const uint16_t bport = b.port ? b.port : vport;  // dr backends have no port of their own
    NFVGW_TRACE(c.w, p, lb, s->index, backend, bport);
    const int64_t e = o.eniByIp(vpc, backend);
    if (e < 0) return drop(Drop::lb_backend_unreachable);
    switch (s->mode) {
      case LbMode::kDr:
      case LbMode::kTunnel:
        reply = FlowKey::make(vni, k.dst(), k.src(), vport, k.sport(), k.proto());
        break;
      case LbMode::kFullNat: {
        const uint32_t local = s->local_ips[hash64(k.src()) % s->local_ips.size()];
        uint16_t lport;
        if (!lbFullnatPort(c, vni, k, local, backend, bport, &lport)) return drop(Drop::lb_fullnat_port_exhausted);
        reply = FlowKey::make(vni, backend, local, bport, lport, k.proto());
        break;
      }
      default:
        reply = FlowKey::make(vni, backend, k.src(), bport, k.sport(), k.proto());
        break;
    }
    if (!o.sg_sets[w.src->sg_set].outbound.allows(w.proto, vport, w.idst)) return drop(Drop::sg_outbound_denied);
    if (!o.sg_sets[o.enis[e].sg_set].inbound.allows(w.proto, bport, reply.dst())) return drop(Drop::sg_inbound_denied);
    ConnEntry* ce = c.ct.insert(c.w.worker_id, k, reply, connFirstState(k.proto(), flags), now_ms, c.s.conntrack);
    if (!ce) return drop(Drop::conntrack_full);
    c.ct.attachBackend(ce, b.slot);
    c.w.stats.backends[b.slot].connections.add();
    c.event(Event::conntrack_created);
    c.event(Event::lb_connection_created);
    slot = int32_t(b.slot);
  }
  const bool direct = reply.src() == k.dst();
  if (direct) {
    // A dr or tunnel backend removed since has no slot any more.
    const LbTables::VpcDirectBackend* d = slot >= 0 ? c.s.lb.vpcDirectBackend(uint32_t(slot)) : nullptr;
    if (!d) return drop(Drop::lb_backend_unreachable);
    backend = d->ip;
    if (d->tunnel) w.tunnel = d->ip;
  } else if (!backend) {
    backend = reply.src();
  }
  if (slot >= 0) {
    c.w.stats.backends[slot].packets.add();
    c.w.stats.backends[slot].bytes.add(be16(reinterpret_cast<const Ip4Hdr*>(l3)->total_len));
  }
  if (!direct) {
    rewriteEndpoint(l3, false, reply.src(), reply.sport());
    w.idst = reply.src();
    if (reply.dst() != k.src() || reply.dport() != k.sport()) {
      rewriteEndpoint(l3, true, reply.dst(), reply.dport());
      w.isrc = reply.dst();
    }
    std::memcpy(&w.ports, l3 + w.in.l3_len, 4);
  }
  w.key = k;
  w.keyed = !direct;
  w.balanced = true;
  c.event(Event::lb_forwarded);
  return o.eniByIp(vpc, backend);
}

// A backend's reply to a local address of an internal fullnat service in
// VPC `vpc`: found by its key as the reply of its connection, translated
// back (from the VIP, to the client) and marked as tracked. Returns the
// client's ENI (in its own VPC, maybe a peer), kDropped when p was dropped
// (no connection has that key: lb_no_connection).
__attribute__((noinline)) int64_t fullnatReply(L3Ctx& c, Work& w, uint32_t vpc) {
  const OverlayTables& o = c.s.overlay;
  Pkt& p = *w.p;
  uint8_t* l3 = w.in.l3();
  const uint32_t now_ms = c.nowMs();
  FlowKey k;
  uint8_t flags = 0;
  ConnHit h;
  if (w.has_ports && packetFlowOf(o.vnis[vpc], l3, be16(reinterpret_cast<const Ip4Hdr*>(l3)->total_len), k, flags))
    h = c.ct.find(k, now_ms);
  if (!h.e || h.dir != 1 || ConnTable::backendOf(h.e) < 0) {
    c.w.drop(p, Drop::lb_no_connection);
    return kDropped;
  }
  connTrack(h, k.proto(), flags, now_ms, c.s.conntrack);
  const FlowKey orig = h.e->keyOf(0);
  const int32_t slot = ConnTable::backendOf(h.e);
  c.w.stats.backends[slot].packets.add();
  c.w.stats.backends[slot].bytes.add(be16(reinterpret_cast<const Ip4Hdr*>(l3)->total_len));
  rewriteEndpoint(l3, true, orig.dst(), orig.dport());
  rewriteEndpoint(l3, false, orig.src(), orig.sport());
  w.isrc = orig.dst();
  w.idst = orig.src();
  std::memcpy(&w.ports, l3 + w.in.l3_len, 4);
  w.key = k;
  w.keyed = true;
  w.balanced = true;
  c.event(Event::lb_replied);
  // The client's VPC is the zone of the connection's original key.
  const uint32_t* client_vpc = o.vpcByVni(orig.zone());
  return client_vpc ? o.eniByIp(*client_vpc, orig.src()) : -1;
}

// An ICMP error (destination unreachable, time exceeded, parameter
// problem) about a packet of an internal load-balanced connection, as nf/lb
// handles them on its ports: the quoted packet, reversed, is a key of the
// connection in the zone of the VPC the error comes from. To a VIP, about
// a reply (from the client, or a VM routing for it: port unreachable,
// fragmentation needed): for the backend. From a backend, about a request
// (to the client in nat mode, to the local address in fullnat mode): for
// the client. nat and fullnat rewrite it for its receiver
// (lbRewriteError; in nat mode the error keeps its source, unless the
// backend sent it, which then becomes the VIP); dr and tunnel pass it to
// the backend as it is (in IP-in-IP for tunnel), the backend having sent
// the reply from the VIP itself (their backends' own errors about requests
// quote what the client sent and need nothing: relatedError lets them
// through). `only`: the ENI the error must go to (it was addressed to that
// ENI's own address), or null. Returns the destination ENI, with the
// packet marked as tracked, or -1 (and the packet untouched) when it is
// about no such connection.
__attribute__((noinline)) int64_t balancedError(L3Ctx& c, Work& w, const Eni* only) {
  const OverlayTables& o = c.s.overlay;
  uint8_t* l3 = w.in.l3();
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(l3);
  const uint32_t total = be16(ip->total_len);
  const ConnHit h = lbErredConnection(c, l3, total, o.vnis[w.src->vpc]);
  if (!h.e) return -1;
  const FlowKey orig = h.e->keyOf(0);
  const FlowKey reply = h.e->keyOf(1);
  const FlowKey to = h.e->keyOf(1 - h.dir);
  const bool direct = reply.src() == orig.dst();
  uint32_t target = to.src();
  bool tunnel = false;
  if (direct) {
    const LbTables::VpcDirectBackend* d = c.s.lb.vpcDirectBackend(uint32_t(ConnTable::backendOf(h.e)));
    if (h.dir != 0 || !d) return -1;
    target = d->ip;
    tunnel = d->tunnel;
  }
  // The receiver's VPC is the zone of its key (a client may be in a peer).
  const uint32_t* vpc = o.vpcByVni(to.zone());
  const int64_t e = vpc && target ? o.eniByIp(*vpc, target) : -1;
  if (e < 0 || (only && &o.enis[e] != only)) return -1;
  if (tunnel) w.tunnel = target;
  if (!direct) {
    const bool fullnat = reply.dst() != orig.src();
    lbRewriteError(l3, total, to, fullnat || h.dir == 1);
    w.isrc = be32(ip->src);
    w.idst = target;
  }
  w.keyed = false;
  w.balanced = true;
  c.event(h.dir == 0 ? Event::lb_forwarded : Event::lb_replied);
  return e;
}

// Stage 4: the destination ENI of a routed packet from its route target;
// null (p dropped, maybe with an ICMP error to the source) when there is none.
__attribute__((always_inline)) inline const Eni* resolve(L3Ctx& c, Work& w) {
  const OverlayTables& o = c.s.overlay;
  Pkt& p = *w.p;
  const OverlayTarget* t = &o.targets[w.target];
  int64_t dst = -1;
  switch (t->kind) {
    case OverlayKind::kLocal:
    case OverlayKind::kPeering:
      dst = o.eniByIp(t->vpc, w.idst);
      break;
    case OverlayKind::kTransit:
      t = &o.targets[o.transit_tables[t->tgw].lookup(w.idst)];
      if (t->kind == OverlayKind::kAttachment) {
        dst = o.eniByIp(t->vpc, w.idst);
        break;
      }
      if (t->kind == OverlayKind::kBlackhole) {
        c.w.drop(p, Drop::overlay_blackhole);
        return nullptr;
      }
      overlayIcmpError(c, w.in, *w.src, kIcmpDestUnreach, kIcmpCodeNetUnreach, 0);
      c.w.drop(p, Drop::overlay_no_route);
      return nullptr;
    case OverlayKind::kEni:
      dst = t->eni;
      break;
    case OverlayKind::kBlackhole:
      c.w.drop(p, Drop::overlay_blackhole);
      return nullptr;
    case OverlayKind::kNat:
    case OverlayKind::kIgw:
      w.egress = t;
      return nullptr;
    case OverlayKind::kNone:
    case OverlayKind::kAttachment:
      overlayIcmpError(c, w.in, *w.src, kIcmpDestUnreach, kIcmpCodeNetUnreach, 0);
      c.w.drop(p, Drop::overlay_no_route);
      return nullptr;
  }
  if (dst < 0 && c.s.lb.hasVpcServices() && (t->kind == OverlayKind::kLocal || t->kind == OverlayKind::kPeering)) {
    // An ICMP error about a load-balanced connection, else a packet of
    // one (or a new one).
    int64_t to = w.proto == kIpProtoIcmp ? balancedError(c, w, nullptr) : -1;
    if (to < 0) to = c.s.lb.vpcLocal(o.vnis[t->vpc], w.idst) ? fullnatReply(c, w, t->vpc) : balance(c, w, t->vpc);
    if (to == kDropped) return nullptr;
    dst = to;
  }
  if (dst < 0) {
    overlayIcmpError(c, w.in, *w.src, kIcmpDestUnreach, kIcmpCodeHostUnreach, 0);
    c.w.drop(p, Drop::overlay_no_eni);
    return nullptr;
  }
  return &o.enis[dst];
}

// An ICMP error about a packet of a tracked connection (RELATED, in the
// kernel's words): the quoted header is that packet, sent by the ENI the
// error goes to.
bool relatedError(L3Ctx& c, const Pkt& in, uint32_t dst_zone) {
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(in.l3());
  if (ip->proto != kIpProtoIcmp) return false;
  const uint32_t total = be16(ip->total_len);
  if (total < in.l3_len + 8 + sizeof(Ip4Hdr)) return false;
  const uint8_t* icmp = in.l3() + in.l3_len;
  if (icmp[0] != kIcmpDestUnreach && icmp[0] != kIcmpTimeExceeded && icmp[0] != 12 /* parameter problem */)
    return false;
  FlowKey k;
  uint8_t flags = 0;
  const uint8_t* quoted = icmp + 8;
  if ((quoted[0] >> 4) != 4 || !flowOf(dst_zone, quoted, total - in.l3_len - 8, k, flags)) return false;
  return c.ct.find(k, c.nowMs()).e != nullptr;
}

// Stateful security groups between two ENIs. A packet of a tracked
// connection passes (and moves its state on); a new connection needs an
// outbound rule of the source's groups and an inbound rule of the
// destination's, and is then tracked. Between two ENIs whose groups allow
// everything both ways nothing is tracked (a reply could not be refused).
// False when p was dropped.
// Stage 5, before delivery: what the security groups will need, with the
// connection table's bucket for the packet's key fetched into the cache
// (the lookups of the burst overlap, as the route lookups do).
// True when the bucket was prefetched (the packet has a connection key).
__attribute__((always_inline)) inline bool connectionKey(L3Ctx& c, Work& w) {
  const Eni& src = *w.src;
  // A nat backend's ICMP error about a request, to the client's address:
  // translated back (the VIP, as the client knows it).
  if (w.proto == kIpProtoIcmp && !w.balanced && c.s.lb.vpcBackend(c.s.overlay.vnis[src.vpc], w.isrc))
    balancedError(c, w, w.dst);
  if (w.balanced) {
    w.untracked = true;
    return false;
  }
  // A backend's packets are looked up: they may be replies, of a nat
  // connection to get the VIP back, of a dr one (from the VIP) to move the
  // connection's state on.
  w.untracked = src.sg_open && w.dst->sg_open && !w.from_vip && !c.s.lb.vpcBackend(c.s.overlay.vnis[src.vpc], w.isrc);
  if (w.untracked) return false;
  const Pkt& in = w.in;
  w.tcp_flags = 0;
  const uint32_t avail = be16(reinterpret_cast<const Ip4Hdr*>(in.l3())->total_len);
  w.keyed = packetFlowOf(c.s.overlay.vnis[src.vpc], in.l3(), avail, w.key, w.tcp_flags);
  if (w.keyed) c.ct.prefetchBucket(w.bucket = c.ct.bucket(w.key));
  return w.keyed;
}

// Stateful security groups between two ENIs. A packet of a tracked
// connection passes (and moves its state on); a new connection needs an
// outbound rule of the source's groups and an inbound rule of the
// destination's, and is then tracked. Between two ENIs whose groups allow
// everything both ways nothing is tracked (a reply could not be refused).
// False when p was dropped.
__attribute__((always_inline)) inline bool securityGroups(L3Ctx& c, const Work& w, const Eni& src, const Eni& dst) {
  if (w.balanced) return true;  // the load balancer tracked it
  if (w.untracked) {
    c.event(Event::conntrack_untracked);
    NFVGW_TRACE(c.w, *w.p, conntrack, 0, 0, 0);
    return true;
  }
  const OverlayTables& o = c.s.overlay;
  Pkt& p = *w.p;
  const uint32_t now_ms = c.nowMs();
  const ConnSettings& cfg = c.s.conntrack;
  if (w.keyed) {
    if (ConnHit h = c.ct.findIn(w.bucket, w.key, now_ms); h.e) {
      connTrack(h, w.proto, w.tcp_flags, now_ms, cfg);
      NFVGW_TRACE(c.w, p, conntrack, 1, h.e->state.load(std::memory_order_relaxed), h.dir);
      // A backend's reply through an internal load balancer: from the VIP
      // (a dr backend sent it so).
      if (h.dir == 1) {
        if (const int32_t slot = ConnTable::backendOf(h.e); slot >= 0) {
          const FlowKey orig = h.e->keyOf(0);
          if (w.key.src() != orig.dst()) rewriteEndpoint(w.in.l3(), true, orig.dst(), orig.dport());
          c.w.stats.backends[slot].packets.add();
          c.w.stats.backends[slot].bytes.add(be16(reinterpret_cast<const Ip4Hdr*>(w.in.l3())->total_len));
          c.event(Event::lb_replied);
        }
      }
      return true;
    }
  } else if (relatedError(c, w.in, o.vnis[dst.vpc])) {
    NFVGW_TRACE(c.w, p, conntrack, 3, 0, 0);
    return true;
  }
  const uint32_t port = w.has_ports ? be16(uint16_t(w.ports >> 16)) : kAclNoPort;
  if (!o.sg_sets[src.sg_set].outbound.allows(w.proto, port, w.idst)) {
    NFVGW_TRACE(c.w, p, secgroup, 0, 0, 0);
    c.w.drop(p, Drop::sg_outbound_denied);
    return false;
  }
  if (!o.sg_sets[dst.sg_set].inbound.allows(w.proto, port, w.isrc)) {
    NFVGW_TRACE(c.w, p, secgroup, 1, 0, 0);
    c.w.drop(p, Drop::sg_inbound_denied);
    return false;
  }
  NFVGW_TRACE(c.w, p, secgroup, 2, 1, 0);
  // A RST opens nothing; neither does what has no connection of its own.
  if (!w.keyed || (w.tcp_flags & kTcpRst)) return true;
  const FlowKey& k = w.key;
  const FlowKey reply = FlowKey::make(o.vnis[dst.vpc], k.dst(), k.src(), k.dport(), k.sport(), k.proto());
  if (!c.ct.insert(c.w.worker_id, k, reply, connFirstState(w.proto, w.tcp_flags), now_ms, cfg)) {
    c.w.drop(p, Drop::conntrack_full);
    return false;
  }
  c.event(Event::conntrack_created);
  NFVGW_TRACE(c.w, p, conntrack, 2, uint32_t(connFirstState(w.proto, w.tcp_flags)), 0);
  return true;
}

// A packet balance() or fullnatReply() translated that the gateway answers
// with an ICMP error (time exceeded, fragmentation needed) instead of
// delivering it: given back the addresses and ports its sender sent, so
// that the error quotes a packet the sender knows (path-MTU discovery
// through the load balancer). The packet is dropped afterwards.
__attribute__((noinline)) void untranslate(Work& w) {
  uint8_t* l3 = w.in.l3();
  rewriteEndpoint(l3, true, w.key.src(), w.key.sport());
  rewriteEndpoint(l3, false, w.key.dst(), w.key.dport());
}

// Stage 5 for a packet of an internal tunnel service (balance, or an ICMP
// error for such a backend: balancedError), after the network ACLs:
// IP-in-IP to the backend ENI inside the VXLAN, as LVS/TUN and Katran do on
// a link. The inner frame becomes Ethernet (router -> backend ENI), an
// outer IPv4 header from the gateway of the backend's subnet to the
// backend (the router's address on the backend's own link: the backend
// reaches it on-link, so reverse-path filtering takes it, where the VIP,
// the backend's own address, would be a martian source), protocol 4, DF
// and TOS copied, TTL 64, and the packet as the client sent it, untouched.
// The frame grows by that header: it moves into the buffer's headroom,
// where writeOuter() puts the VXLAN headers in front as for any packet.
__attribute__((noinline)) void tunnelDeliver(L3Ctx& c, Work& w, const UnderlayAdj& adj) {
  const OverlayTables& o = c.s.overlay;
  Pkt& p = *w.p;
  const Pkt& in = w.in;
  const Eni& dst = *w.dst;
  uint8_t* l3 = in.l3();
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(l3);
  const uint32_t total = be16(ip->total_len);
  const uint32_t inner_len = sizeof(EthHdr) + kIpipOverhead + total;
  if (kVxlanOuterL3 + inner_len > adj.mtu) return dropOversize(c, p, in, *w.src, adj.mtu - kIpipOverhead);
  // In front of the packet: the outer IPv4 header, the inner Ethernet
  // header, the VXLAN headers, the underlay's Ethernet header and its VLAN
  // tag if it has one.
  const uint32_t room = p.headroom() + uint32_t(l3 - p.data);
  if (room < kIpipOverhead + sizeof(EthHdr) + kVxlanOverhead + (adj.vlan ? sizeof(VlanTag) : 0))
    return c.w.drop(p, Drop::lb_no_headroom);
  writeIpipHeader(reinterpret_cast<Ip4Hdr*>(l3 - kIpipOverhead), ip, total, o.subnets[dst.subnet].gateway, w.tunnel);
  uint8_t* inner = l3 - kIpipOverhead - sizeof(EthHdr);
  EthHdr* eth = reinterpret_cast<EthHdr*>(inner);
  macCopy(eth->dst, dst.mac);
  macCopy(eth->src, o.router_mac);
  eth->type = be16(kEthP_Ip4);
  uint8_t mac[6];
  const bool resolved = underlayKnown(c, adj, mac);
  c.event(Event::overlay_routed);
  writeOuter(p, inner, inner_len, adj, o.vnis[dst.vpc], entropyPort(be32(w.isrc), be32(w.idst), w.proto, w.ports));
  sendUnderlay(c, p, adj, resolved, mac);
}

// Stage 5: the network ACLs where a routed packet crosses a subnet boundary
// (the one it leaves, outbound, then the one it enters, inbound) and its
// TTL; then the destination's hypervisor on the underlay. Everything is
// decided before the headers are written: a write through a byte pointer
// may alias anything, and a table read after it would be a reload.
__attribute__((always_inline)) inline void deliver(L3Ctx& c, Work& w) {
  const OverlayTables& o = c.s.overlay;
  Pkt& p = *w.p;
  Pkt& in = w.in;
  const Eni& src = *w.src;
  const Eni& dst = *w.dst;
  Ip4Hdr* ip = reinterpret_cast<Ip4Hdr*>(in.l3());
  if (w.routed) {
    if (dst.subnet != src.subnet) {
      const uint32_t dport = w.has_ports ? be16(uint16_t(w.ports >> 16)) : kAclNoPort;
      if (w.from->acl >= 0) {
        const bool ok = aclAllows(o.acls[w.from->acl].outbound, w.proto, dport, w.idst);
        NFVGW_TRACE(c.w, p, acl, uint32_t(w.from->acl), 0, ok);
        if (!ok) return c.w.drop(p, Drop::acl_outbound_denied);
      }
      const VpcSubnet& to = o.subnets[dst.subnet];
      if (to.acl >= 0) {
        const bool ok = aclAllows(o.acls[to.acl].inbound, w.proto, dport, w.isrc);
        NFVGW_TRACE(c.w, p, acl, uint32_t(to.acl), 1, ok);
        if (!ok) return c.w.drop(p, Drop::acl_inbound_denied);
      }
    }
    // The packet a tunnel carries is not routed here: its TTL stays.
    if (ip->ttl <= 1 && !w.tunnel) {
      if (w.balanced && w.keyed) untranslate(w);
      overlayIcmpError(c, in, src, kIcmpTimeExceeded, kIcmpCodeTtlExceeded, 0);
      return c.w.drop(p, Drop::ip4_ttl_expired);
    }
  }
  if (!dst.vtep) return c.w.drop(p, Drop::overlay_eni_detached);
  const UnderlayAdj& adj = o.underlay[dst.underlay];
  if (!adj.routable) return c.w.drop(p, Drop::ip4_no_route);
  if (w.tunnel) return tunnelDeliver(c, w, adj);
  if (kVxlanOuterL3 + in.len > adj.mtu) {
    if (w.balanced && w.keyed) untranslate(w);
    return dropOversize(c, p, in, src, adj.mtu);
  }
  if (!securityGroups(c, w, src, dst)) return;
  uint8_t mac[6];
  const bool resolved = underlayKnown(c, adj, mac);
  const uint32_t vni = o.vnis[dst.vpc];
  const uint16_t sport = entropyPort(be32(w.isrc), be32(w.idst), w.proto, w.ports);

  if (w.routed) {
    ip4DecrementTtl(ip);
    EthHdr* eth = reinterpret_cast<EthHdr*>(in.data);
    macCopy(eth->dst, dst.mac);
    macCopy(eth->src, o.router_mac);
  }
  c.event(w.routed ? Event::overlay_routed : Event::overlay_switched);
  writeOuter(p, in.data, in.len, adj, vni, sport);
  sendUnderlay(c, p, adj, resolved, mac);
}

// Stage 5 for a packet routed to a NAT gateway or the internet gateway:
// the source subnet's outbound ACL and the TTL, then NAT (nf/nat).
__attribute__((noinline)) void toInternet(L3Ctx& c, Work& w) {
  const OverlayTables& o = c.s.overlay;
  Pkt& p = *w.p;
  Pkt& in = w.in;
  const Eni& src = *w.src;
  const uint32_t dport = w.has_ports ? be16(uint16_t(w.ports >> 16)) : kAclNoPort;
  if (w.from->acl >= 0) {
    const bool ok = aclAllows(o.acls[w.from->acl].outbound, w.proto, dport, w.idst);
    NFVGW_TRACE(c.w, p, acl, uint32_t(w.from->acl), 0, ok);
    if (!ok) return c.w.drop(p, Drop::acl_outbound_denied);
  }
  Ip4Hdr* ip = reinterpret_cast<Ip4Hdr*>(in.l3());
  if (ip->ttl <= 1) {
    overlayIcmpError(c, in, src, kIcmpTimeExceeded, kIcmpCodeTtlExceeded, 0);
    return c.w.drop(p, Drop::ip4_ttl_expired);
  }
  ip4DecrementTtl(ip);
  c.event(Event::overlay_routed);
  natEgress(c, p, in, src, *w.egress, w.key, w.bucket, w.keyed, w.tcp_flags);
}

}  // namespace

// In stages over the burst, as the router's pipeline: the per-packet work
// is a long chain of dependent table reads (VNI, ENI, route, ENI, ACLs,
// adjacency), and a stage's reads for several packets overlap where one
// packet's chain would wait on each.
void overlayInput(L3Ctx& c, Pkt* const* pkts, uint32_t n) {
  const OverlayTables& o = c.s.overlay;
  Work work[kMaxBurst];
  uint8_t live[kMaxBurst];  // the packets still on their way, by index in work
  uint32_t m = 0;
  for (uint32_t i = 0; i < n; ++i) {
    work[i].p = pkts[i];
    if (decapsulate(c, *pkts[i], work[i])) live[m++] = uint8_t(i);
  }
  uint32_t k = 0;
  for (uint32_t j = 0; j < m; ++j)
    if (checkSource(c, *work[live[j]].p, work[live[j]])) live[k++] = live[j];
  m = k;
  for (uint32_t j = 0; j < m; ++j) {
    Work& w = work[live[j]];
    if (w.routed) {
      w.target = o.route_tables[w.from->route_table].lookup(w.idst);
      NFVGW_TRACE(c.w, *w.p, vpc_route, uint32_t(o.targets[w.target].kind), w.from->route_table, w.idst);
    }
  }
  bool keyed = false;
  for (uint32_t j = 0; j < m; ++j) {
    Work& w = work[live[j]];
    w.egress = nullptr;
    w.balanced = false;
    w.tunnel = 0;
    if (w.routed) w.dst = resolve(c, w);
    if (w.dst) {
      NFVGW_TRACE(c.w, *w.p, eni_destination, uint32_t(w.dst - o.enis.data()), w.dst->vpc, 0);
      keyed |= connectionKey(c, w);
    } else if (w.egress) {
      // To the internet: always tracked (the connection holds the translation).
      w.untracked = false;
      w.tcp_flags = 0;
      const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(w.in.l3());
      w.keyed = packetFlowOf(o.vnis[w.src->vpc], w.in.l3(), be16(ip->total_len), w.key, w.tcp_flags);
      if (w.keyed) c.ct.prefetchBucket(w.bucket = c.ct.bucket(w.key));
      keyed |= w.keyed;
    }
  }
  if (keyed) {
    for (uint32_t j = 0; j < m; ++j) {
      Work& w = work[live[j]];
      if ((w.dst || w.egress) && !w.untracked && w.keyed) c.ct.prefetchChain(w.bucket);
    }
  }
  for (uint32_t j = 0; j < m; ++j) {
    Work& w = work[live[j]];
    if (w.dst)
      deliver(c, w);
    else if (w.egress)
      toInternet(c, w);
  }
}

}  // namespace nfvgw
