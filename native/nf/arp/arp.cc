// ARP input and next-hop resolution; see arp.h.
#include "nf/arp/arp.h"

#include <cstring>

#include "pkt/headers.h"
#include "pkt/l2.h"

namespace nfvgw {

namespace {

const uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

bool onLink(const PortL3& port, uint32_t ip) {
  for (const IfAddr& a : port.addrs)
    if (a.contains(ip)) return true;
  return false;
}

void sendRequest(L3Ctx& c, uint16_t port, uint32_t ip) {
  const PortL3& pl = c.s.ports[port];
  uint32_t spa = pl.sourceFor(ip);
  if (spa == 0) return;  // the port has no address to ask from
  Pkt q;
  if (!c.w.pool.allocPkt(&q, port)) return;
  ArpHdr* a = reinterpret_cast<ArpHdr*>(q.data + sizeof(EthHdr));
  a->htype = be16(1);
  a->ptype = be16(kEthP_Ip4);
  a->hlen = 6;
  a->plen = 4;
  a->op = be16(kArpOpRequest);
  macCopy(a->sha, pl.mac);
  a->spa = be32(spa);
  std::memset(a->tha, 0, 6);
  a->tpa = be32(ip);
  q.len = sizeof(EthHdr) + sizeof(ArpHdr);
  writeEthernet(q, kBroadcast, pl.mac, pl.vlan, kEthP_Arp);
  c.w.stats.event(Event::arp_request_sent);
  c.w.send(q, port);
}

}  // namespace

void arpInput(L3Ctx& c, Pkt& p) {
  if (p.len - p.l2_len < sizeof(ArpHdr)) return c.w.drop(p, Drop::arp_malformed);
  ArpHdr* a = reinterpret_cast<ArpHdr*>(p.l3());
  if (be16(a->htype) != 1 || be16(a->ptype) != kEthP_Ip4 || a->hlen != 6 || a->plen != 4)
    return c.w.drop(p, Drop::arp_malformed);
  uint16_t op = be16(a->op);
  if (op != kArpOpRequest && op != kArpOpReply) return c.w.drop(p, Drop::arp_malformed);

  const uint16_t port = p.port;
  const PortL3& pl = c.s.ports[port];
  const uint32_t spa = be32(a->spa);
  const uint32_t tpa = be32(a->tpa);
  const NextHop& target = c.s.routes.lookup(tpa);
  // The port's own addresses, the load balancer's (VIPs, fullnat local
  // addresses) on every port, and on the uplink the public ones (NAT
  // gateways, elastic IPs): the upstream router finds them by ARP.
  const bool for_us = (target.kind == NhKind::kLocal && target.port == port) || target.kind == NhKind::kLoadBalancer ||
                      (int32_t(port) == c.s.overlay.uplink && c.s.overlay.publicIp(tpa));

  // Learn the sender: create an entry when it spoke to us, refresh one we
  // already have otherwise (as the kernel does), and only for addresses on
  // the port's subnets so that nobody can fill the table from afar.
  if (spa != 0 && onLink(pl, spa) && !macIsMulticast(a->sha)) {
    NeighborTable::Entry* e = for_us ? c.neigh.findOrCreate(port, spa) : c.neigh.find(port, spa);
    if (e && c.neigh.learn(e, a->sha, c.w.now_ns)) c.w.stats.event(Event::neighbor_learned);
  }

  if (!for_us) return c.w.drop(p, Drop::arp_not_for_us);
  if (op == kArpOpReply) {
    c.w.stats.event(Event::arp_received);
    return c.w.consume(p);
  }
  // Answer in place: the requester becomes the target.
  a->op = be16(kArpOpReply);
  macCopy(a->tha, a->sha);
  a->tpa = a->spa;
  macCopy(a->sha, pl.mac);
  a->spa = be32(tpa);
  p.len = p.l2_len + sizeof(ArpHdr);
  writeEthernet(p, a->tha, pl.mac, pl.vlan, kEthP_Arp);
  c.w.stats.event(Event::arp_reply_sent);
  c.w.send(p, port);
}

bool neighborKnown(L3Ctx& c, uint16_t port, uint32_t ip, uint8_t* mac) {
  if (const StaticNeighbor* sn = c.s.static_neighbors.find(NeighborTable::keyOf(port, ip))) {
    macCopy(mac, sn->mac);
    return true;
  }
  NeighborTable::Entry* e = c.neigh.find(port, ip);
  if (!e) return false;
  uint64_t v = e->mac.load(std::memory_order_acquire);
  if (!(v & NeighborTable::kResolved)) return false;
  NeighborTable::unpackMac(v, mac);
  return true;
}

namespace {

// Resolution once the entry is known: fresh, stale (refresh while using it)
// or unresolved (ask, at most once per retry interval).
bool resolveEntry(L3Ctx& c, NeighborTable::Entry* e, uint16_t port, uint32_t ip, uint8_t* mac, Drop* why) {
  const uint64_t now = c.w.now_ns;
  const NeighborSettings& cfg = c.s.neighbor;
  uint64_t v = e->mac.load(std::memory_order_acquire);
  if (v & NeighborTable::kResolved) {
    uint64_t age = now - e->confirmed_ns.load(std::memory_order_relaxed);
    if (age < cfg.reachable_ns || int64_t(age) < 0) {
      NeighborTable::unpackMac(v, mac);
      return true;
    }
    if (age < cfg.expire_ns) {
      if (NeighborTable::claimRequest(e, now, cfg.retry_ns)) sendRequest(c, port, ip);
      NeighborTable::unpackMac(v, mac);
      return true;
    }
  }
  if (NeighborTable::claimRequest(e, now, cfg.retry_ns)) sendRequest(c, port, ip);
  *why = Drop::neighbor_unresolved;
  return false;
}

}  // namespace

bool neighborLookup(L3Ctx& c, uint16_t port, uint32_t ip, uint8_t* mac, Drop* why) {
  if (const StaticNeighbor* sn = c.s.static_neighbors.find(NeighborTable::keyOf(port, ip))) {
    macCopy(mac, sn->mac);
    return true;
  }
  NeighborTable::Entry* e = c.neigh.find(port, ip);
  if (!e) e = c.neigh.findOrCreate(port, ip);
  if (!e) {
    *why = Drop::neighbor_table_full;
    return false;
  }
  return resolveEntry(c, e, port, ip, mac, why);
}

bool nextHopLookup(L3Ctx& c, const NextHop& nh, uint8_t* mac, Drop* why) {
  if (nextHopKnown(c, nh, mac)) return true;
  if (nh.neighbor) return resolveEntry(c, nh.neighbor, nh.port, nh.gateway, mac, why);
  return neighborLookup(c, nh.port, nh.gateway, mac, why);
}

}  // namespace nfvgw
