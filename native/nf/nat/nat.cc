// NAT gateways and elastic IPs; see nat.h.
#include "nf/nat/nat.h"

#include <cstring>

#include "nf/acl/network_acl.h"
#include "nf/conntrack/flow.h"
#include "nf/route/ip4_forward.h"
#include "nf/vpc/overlay.h"
#include "nf/vxlan/vxlan.h"
#include "pkt/checksum.h"
#include "pkt/headers.h"
#include "pkt/l2.h"
#include "pkt/rewrite.h"

namespace nfvgw {

namespace {

uint32_t mix(uint32_t a, uint32_t b) {
  uint64_t h = ((uint64_t(a) << 32) | b) * 0x9e3779b97f4a7c15ull;
  return uint32_t(h >> 32);
}

// The port the security groups and the ACLs see: TCP and UDP destination
// ports, nothing for the rest.
uint32_t rulePort(const FlowKey& k) {
  return k.proto() == kIpProtoTcp || k.proto() == kIpProtoUdp ? k.dport() : kAclNoPort;
}

// The public address of NAT gateway `g` for the inside address of `k`:
// the same one for all its connections (paired pooling, RFC 4787 REQ-2).
uint32_t pairedAddress(const NatGateway& g, const FlowKey& k) { return g.ips[mix(k.src(), k.zone()) % g.ips.size()]; }

// Whether connections of `k`'s protocol have ports (or an echo identifier)
// to translate. The others (GRE, ESP, SCTP, ...) are translated by address
// alone, as Linux's masquerade does with its generic tracker: one inside
// address at a time per public address, remote address and protocol.
bool hasPorts(const FlowKey& k) {
  return k.proto() == kIpProtoTcp || k.proto() == kIpProtoUdp || k.proto() == kIpProtoIcmp;
}

// The mapping of the inside endpoint of `k` on NAT gateway `g`, made if
// there is none: the public address pairedAddress() says, the inside port kept when it is free,
// else the next free one from a point that depends on the endpoint. Null
// with `why` when no port is free (or the table is full).
ConnEntry* natMap(L3Ctx& c, const NatGateway& g, const FlowKey& k, uint32_t now_ms, Drop* why) {
  const FlowKey inside = ConnTable::endpointKey(k.zone(), k.src(), k.sport(), k.proto());
  const uint32_t pub = pairedAddress(g, k);
  const uint32_t range = uint32_t(g.port_hi) - g.port_lo + 1;
  for (int round = 0; round < 2; ++round) {
    if (ConnEntry* m = c.ct.useMapping(inside, now_ms)) return m;
    uint32_t port =
        k.sport() >= g.port_lo && k.sport() <= g.port_hi ? k.sport() : g.port_lo + mix(k.src(), k.sport()) % range;
    for (int tries = 0; tries < 64; ++tries) {
      bool full = false;
      const FlowKey outside = ConnTable::endpointKey(0, pub, uint16_t(port), k.proto());
      if (ConnEntry* m = c.ct.createMapping(c.w.worker_id, inside, outside, now_ms, &full)) {
        if (m->keyOf(1) == outside) c.event(Event::nat_mapping_created);
        return m;
      }
      if (full) {
        *why = Drop::conntrack_full;
        return nullptr;
      }
      // Taken: the next port, then further and further away.
      port = g.port_lo + (port - g.port_lo + 1 + uint32_t(tries) * 7919) % range;
    }
  }
  *why = Drop::nat_port_exhausted;
  countByKey(c.w.stats.nat_exhausted, uint64_t(pub) << 8 | k.proto());
  return nullptr;
}

}  // namespace

// An ICMP error about a packet of a connection through NAT: from the
// internet (`out` false; a router's time exceeded, the far end's port
// unreachable, fragmentation needed) about a packet that left, or from a
// VM (`out` true) about one that came in. The quoted header is that packet
// as the sender of the error saw it, so it names the connection (its key,
// in `zone`, reversed). The outer address and the quoted one on this side
// (destination and quoted source coming in, source and quoted destination
// going out) become the other side's, every checksum kept right
// (rewriteQuotedEndpoint). False when it names no connection; else sets the
// inside endpoint (coming in) or the public one (going out).
bool natTranslateError(L3Ctx& c, uint8_t* l3, uint32_t total, uint32_t zone, bool out, uint32_t* vni, uint32_t* addr) {
  const ConnHit h = erredConnection(c.ct, l3, total, zone, c.nowMs());
  if (!h.e) return false;
  const FlowKey other = h.e->keyOf(1 - h.dir);
  *vni = other.zone();
  *addr = out ? other.dst() : other.src();
  // The outer address (not in the ICMP checksum), then the quoted one.
  replaceAddress(reinterpret_cast<Ip4Hdr*>(l3), out, be32(*addr));
  rewriteQuotedEndpoint(l3, total, !out, *addr, out ? other.dport() : other.sport());
  return true;
}

void natEgress(L3Ctx& c, Pkt& p, Pkt& in, const Eni& src, const OverlayTarget& t, const FlowKey& k, uint32_t bucket,
               bool keyed, uint8_t tcp_flags) {
  const OverlayTables& o = c.s.overlay;
  if (!keyed) {
    // An ICMP error of the VM's about a packet that came in through NAT.
    const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(in.l3());
    uint32_t vni, pub;
    if (ip->proto != kIpProtoIcmp ||
        !natTranslateError(c, in.l3(), be16(ip->total_len), o.vnis[src.vpc], true, &vni, &pub))
      return c.w.drop(p, Drop::nat_untranslatable);
    c.event(Event::nat_to_internet);
    return ip4Output(c, in);
  }
  const uint32_t now_ms = c.nowMs();
  const ConnSettings& cfg = c.s.conntrack;
  uint32_t pub_ip;
  uint16_t pub_port;
  if (ConnHit h = c.ct.findIn(bucket, k, now_ms); h.e) {
    connTrack(h, k.proto(), tcp_flags, now_ms, cfg);
    NFVGW_TRACE(c.w, p, conntrack, 1, h.e->state.load(std::memory_order_relaxed), h.dir);
    const FlowKey other = h.e->keyOf(1 - h.dir);
    pub_ip = other.dst();
    pub_port = other.dport();
  } else {
    const bool allowed = o.sg_sets[src.sg_set].outbound.allows(k.proto(), rulePort(k), k.dst());
    NFVGW_TRACE(c.w, p, secgroup, 0, allowed, 0);
    if (!allowed) return c.w.drop(p, Drop::sg_outbound_denied);
    ConnEntry* mapping = nullptr;
    if (t.kind == OverlayKind::kIgw) {
      pub_ip = o.eipOf(src.vpc, k.src());
      if (!pub_ip) return c.w.drop(p, Drop::igw_no_public_ip);
      pub_port = k.sport();
    } else if (!hasPorts(k)) {
      pub_ip = pairedAddress(o.nat_gateways[t.nat], k);
      pub_port = 0;
      // Another inside address holds this public address towards the same
      // remote address for this protocol: its replies could not be told
      // apart.
      if (c.ct.find(FlowKey::make(0, k.dst(), pub_ip, 0, 0, k.proto()), now_ms).e)
        return c.w.drop(p, Drop::nat_address_taken);
    } else {
      // A RST opens nothing, and without a connection it has no mapping.
      if (tcp_flags & kTcpRst) return c.w.drop(p, Drop::nat_no_connection);
      Drop why = Drop::nat_port_exhausted;
      mapping = natMap(c, o.nat_gateways[t.nat], k, now_ms, &why);
      if (!mapping) return c.w.drop(p, why);
      const FlowKey outside = mapping->keyOf(1);
      pub_ip = outside.src();
      pub_port = outside.sport();
    }
    if (!(tcp_flags & kTcpRst)) {
      const FlowKey reply = FlowKey::make(0, k.dst(), pub_ip, k.dport(), pub_port, k.proto());
      ConnEntry* e = c.ct.insert(c.w.worker_id, k, reply, connFirstState(k.proto(), tcp_flags), now_ms, cfg);
      if (!e) {
        if (mapping) ConnTable::release(mapping, now_ms);
        return c.w.drop(p, Drop::conntrack_full);
      }
      if (mapping) c.ct.attach(e, mapping);
      c.event(Event::conntrack_created);
      NFVGW_TRACE(c.w, p, conntrack, 2, uint32_t(connFirstState(k.proto(), tcp_flags)), 0);
    }
  }
  rewriteEndpoint(in.l3(), true, pub_ip, pub_port);
  NFVGW_TRACE(c.w, p, nat, 0, pub_ip, pub_port);
  // To a public address of this gateway (hairpinning): back in, as if it
  // had come from the internet.
  if (o.publicIp(k.dst())) return natIngress(c, in);
  // Out of the uplink as a plain IPv4 packet: the inner frame alone, routed
  // by the gateway's table (the default route towards the upstream router).
  c.event(Event::nat_to_internet);
  ip4Output(c, in);
}

void natIngress(L3Ctx& c, Pkt& p) {
  const OverlayTables& o = c.s.overlay;
  uint8_t* l3 = p.l3();
  Ip4Hdr* ip = reinterpret_cast<Ip4Hdr*>(l3);
  const uint32_t total = be16(ip->total_len);
  const uint32_t remote = be32(ip->src);
  const PublicIp* pub = o.publicIp(be32(ip->dst));
  FlowKey k;
  uint8_t tcp_flags = 0;
  uint32_t vni, priv;
  if (!pub) return c.w.drop(p, Drop::nat_untranslatable);
  if (!packetFlowOf(0, l3, total, k, tcp_flags)) {
    if (ip->proto != kIpProtoIcmp || !natTranslateError(c, l3, total, 0, false, &vni, &priv))
      return c.w.drop(p, Drop::nat_untranslatable);
  } else {
    const uint32_t now_ms = c.nowMs();
    const ConnSettings& cfg = c.s.conntrack;
    uint16_t priv_port;
    if (ConnHit h = c.ct.find(k, now_ms); h.e) {
      connTrack(h, k.proto(), tcp_flags, now_ms, cfg);
      NFVGW_TRACE(c.w, p, conntrack, 1, h.e->state.load(std::memory_order_relaxed), h.dir);
      // The inside endpoint is the other key's source.
      const FlowKey other = h.e->keyOf(1 - h.dir);
      vni = other.zone();
      priv = other.src();
      priv_port = other.sport();
    } else {
      // A new connection from the internet: to an elastic IP, or to a port
      // a NAT gateway forwards, and only as the ENI's groups allow.
      const PortForward* fwd = pub->eip ? nullptr : o.portForward(k.dst(), k.proto(), k.dport());
      if (!pub->eip && !fwd) return c.w.drop(p, Drop::nat_no_connection);
      const Eni& eni = o.enis[fwd ? fwd->eni : pub->eni];
      vni = o.vnis[eni.vpc];
      priv = fwd ? fwd->private_ip : pub->private_ip;
      priv_port = fwd ? fwd->private_port : k.dport();
      const uint32_t rule_port =
          k.proto() == kIpProtoTcp || k.proto() == kIpProtoUdp ? uint32_t(priv_port) : kAclNoPort;
      const bool allowed = o.sg_sets[eni.sg_set].inbound.allows(k.proto(), rule_port, k.src());
      NFVGW_TRACE(c.w, p, secgroup, 1, allowed, 0);
      if (!allowed) return c.w.drop(p, Drop::sg_inbound_denied);
      if (!(tcp_flags & kTcpRst)) {
        const FlowKey reply = FlowKey::make(vni, priv, k.src(), priv_port, k.sport(), k.proto());
        if (!c.ct.insert(c.w.worker_id, k, reply, connFirstState(k.proto(), tcp_flags), now_ms, cfg))
          return c.w.drop(p, Drop::conntrack_full);
        c.event(Event::conntrack_created);
        NFVGW_TRACE(c.w, p, conntrack, 2, uint32_t(connFirstState(k.proto(), tcp_flags)), 0);
      }
    }
    rewriteEndpoint(l3, false, priv, priv_port);
    NFVGW_TRACE(c.w, p, nat, 1, priv, priv_port);
  }
  const uint32_t* vpc = o.vpcByVni(vni);
  const int64_t eni_index = vpc ? o.eniByIp(*vpc, priv) : -1;
  if (eni_index < 0) return c.w.drop(p, Drop::overlay_no_eni);
  const Eni& eni = o.enis[eni_index];
  // The network ACL of the subnet it enters.
  if (const int32_t acl = o.subnets[eni.subnet].acl; acl >= 0) {
    const uint8_t* l4 = l3 + ip->headerLen();
    const uint32_t port =
        ip->proto == kIpProtoTcp || ip->proto == kIpProtoUdp ? uint32_t(l4[2] << 8 | l4[3]) : kAclNoPort;
    if (!aclAllows(o.acls[acl].inbound, ip->proto, port, remote)) return c.w.drop(p, Drop::acl_inbound_denied);
  }
  if (ip->ttl <= 1) return c.w.drop(p, Drop::ip4_ttl_expired);
  ip4DecrementTtl(ip);

  // The inner frame: an Ethernet header from the router to the ENI right
  // before the IP header, and the VXLAN headers before that.
  uint8_t* inner = l3 - sizeof(EthHdr);
  const uint64_t inner_addr = uint64_t(int64_t(p.addr) + (inner - p.data));
  if ((inner_addr & (kFrameSize - 1)) < kVxlanOverhead) return c.w.drop(p, Drop::internet_no_headroom);
  EthHdr* eth = reinterpret_cast<EthHdr*>(inner);
  macCopy(eth->dst, eni.mac);
  macCopy(eth->src, o.router_mac);
  eth->type = be16(kEthP_Ip4);
  Pkt in = innerView(p, inner, sizeof(EthHdr) + total);
  in.l3_len = ip->headerLen();
  if (eni.vtep && kVxlanOuterL3 + in.len > o.underlay[eni.underlay].mtu) return c.w.drop(p, Drop::overlay_mtu_exceeded);
  c.event(Event::nat_from_internet);
  encapsulate(c, p, in, eni, o.vnis[eni.vpc]);
}

}  // namespace nfvgw
