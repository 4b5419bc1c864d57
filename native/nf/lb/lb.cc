// The L4 load balancer; see lb.h.
#include "nf/lb/lb.h"

#include <cstring>

#include "core/flat_map.h"
#include "nf/conntrack/flow.h"
#include "nf/icmp/icmp.h"
#include "nf/lb/lb_tables.h"
#include "nf/nat/nat.h"
#include "nf/route/ip4_forward.h"
#include "pkt/checksum.h"
#include "pkt/headers.h"
#include "pkt/rewrite.h"

namespace nfvgw {

namespace {

// The hash Maglev looks a connection up by: its five-tuple (or, for the
// source-hash scheduler, its source address alone), the same in every
// gateway, so that gateways sharing a VIP behind ECMP agree without state.
uint64_t flowHash(const FlowKey& k) { return hash64(k.addrs ^ hash64(k.rest)); }
uint64_t sourceHash(const FlowKey& k) { return hash64(k.src()); }

// TCP as seen from one side only (dr, tunnel: the replies go around the
// gateway): the client's SYN opens, its first ACK establishes, its FIN or
// a RST closes, like IPVS's state table for input-only connections.
__attribute__((always_inline)) inline ConnState tcpOneWay(ConnState s, uint8_t flags) {
  using S = ConnState;
  if (flags & kTcpRst) return S::kTcpClose;
  if (flags & kTcpFin) return S::kTcpFinWait;
  if ((flags & (kTcpSyn | kTcpAck)) == kTcpSyn)
    return s == S::kTcpFinWait || s == S::kTcpTimeWait || s == S::kTcpClose ? S::kTcpSynSent : s;
  if ((flags & kTcpAck) && s == S::kTcpSynSent) return S::kTcpEstablished;
  return s;
}

// flowOf() for what nearly every packet is, TCP or UDP in an unfragmented
// datagram whose header has no options, in three loads: the addresses as
// one word (source then destination, as FlowKey packs them), the ports as
// another. Anything else goes to flowOf(). `total`: the IPv4 total length.
__attribute__((always_inline)) inline bool packetFlow(const uint8_t* l3, uint32_t total, FlowKey& k,
                                                      uint8_t& tcp_flags) {
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(l3);
  const uint8_t proto = ip->proto;
  if (ip->ver_ihl != 0x45 || (proto != kIpProtoTcp && proto != kIpProtoUdp) ||
      (be16(ip->frag_off) & kIp4FragOffsetMask))
    return packetFlowOf(0, l3, total, k, tcp_flags);
  if (total < sizeof(Ip4Hdr) + (proto == kIpProtoTcp ? sizeof(TcpHdr) : sizeof(UdpHdr))) return false;
  uint64_t addrs;
  uint32_t ports;
  std::memcpy(&addrs, &ip->src, 8);
  std::memcpy(&ports, l3 + sizeof(Ip4Hdr), 4);
  k.addrs = __builtin_bswap64(addrs);
  k.rest = uint64_t(__builtin_bswap32(ports)) << 32 | uint64_t(proto) << 24;  // zone 0
  if (proto == kIpProtoTcp) tcp_flags = total >= sizeof(Ip4Hdr) + 14 ? l3[sizeof(Ip4Hdr) + 13] : 0;
  return true;
}

}  // namespace

namespace {

// The backend the service's scheduler picks for `k`.
const LbBackend& bySchedule(L3Ctx& c, const LbService& s, const FlowKey& k) {
  switch (s.scheduler) {
    case LbScheduler::kMaglev:
      return s.pick[s.table[flowHash(k) % s.table.size()]];
    case LbScheduler::kSourceHash:
      return s.pick[s.table[sourceHash(k) % s.table.size()]];
    case LbScheduler::kLeastConn: {
      // The fewest connections for its weight: a/wa < b/wb as a*wb < b*wa.
      const LbBackend* best = &s.pick[0];
      int64_t best_n = c.ct.backendActive(best->slot);
      for (size_t i = 1; i < s.pick.size(); ++i) {
        const int64_t n = c.ct.backendActive(s.pick[i].slot);
        if (n * best->weight < best_n * s.pick[i].weight) {
          best = &s.pick[i];
          best_n = n;
        }
      }
      return *best;
    }
    default: {
      // Round robin: each worker goes through the order on its own.
      uint32_t& at = c.lb_rr[s.index];
      if (at >= s.sequence.size()) at = 0;
      return s.pick[s.sequence[at++]];
    }
  }
}

}  // namespace

ConnHit lbErredConnection(L3Ctx& c, const uint8_t* l3, uint32_t total, uint32_t zone) {
  const ConnHit h = erredConnection(c.ct, l3, total, zone, c.nowMs());
  return h.e && ConnTable::backendOf(h.e) >= 0 ? h : ConnHit{};
}

void lbRewriteError(uint8_t* l3, uint32_t total, const FlowKey& to, bool from_peer) {
  rewriteQuotedEndpoint(l3, total, true, to.src(), to.sport());
  rewriteQuotedEndpoint(l3, total, false, to.dst(), to.dport());
  // The outer addresses are not in the ICMP checksum.
  Ip4Hdr* ip = reinterpret_cast<Ip4Hdr*>(l3);
  if (from_peer) replaceAddress(ip, true, be32(to.dst()));
  replaceAddress(ip, false, be32(to.src()));
}

bool lbFullnatPort(L3Ctx& c, uint32_t zone, const FlowKey& k, uint32_t local, uint32_t backend, uint16_t bport,
                   uint16_t* port) {
  constexpr uint32_t kLo = 1024, kRange = 65536 - kLo;
  uint32_t at = uint32_t(hash64(uint64_t(k.src()) << 16 | k.sport()) % kRange);
  for (int tries = 0; tries < 64; ++tries) {
    const uint16_t lport = uint16_t(kLo + at);
    if (!c.ct.find(FlowKey::make(zone, backend, local, bport, lport, k.proto()), c.nowMs()).e) {
      *port = lport;
      return true;
    }
    at = (at + 1 + uint32_t(tries) * 7919) % kRange;
  }
  return false;
}

// Session affinity keeps a record per client address and service in the
// connection table (zone kZoneLbAffinity, the service's index as source
// port: an internal and a public service of one VIP stay apart), naming the
// backend of the client's last new connection. It lives affinity_ms after
// that connection, as kube-proxy's ClientIP affinity; a backend that no
// longer takes new connections (down, drained, removed) loses it. Two
// workers may make a client's record at the same moment: the later one is
// found first, the other expires.
const LbBackend& lbSchedule(L3Ctx& c, const LbService& s, const FlowKey& k) {
  if (!s.affinity_ms) return bySchedule(c, s, k);
  const uint32_t now_ms = c.nowMs();
  const FlowKey a = FlowKey::make(kZoneLbAffinity, k.src(), k.dst(), uint16_t(s.index), 0, k.proto());
  if (const ConnHit h = c.ct.find(a, now_ms); h.e && h.dir == 0) {
    const int32_t slot = ConnTable::affinityOf(h.e);
    for (const LbBackend& b : s.pick) {
      if (int32_t(b.slot) != slot) continue;
      ConnTable::refresh(h.e, now_ms, s.affinity_ms);
      return b;
    }
  }
  const LbBackend& b = bySchedule(c, s, k);
  if (ConnEntry* e = c.ct.insert(c.w.worker_id, a, a.reversed(), ConnState::kUnreplied, now_ms, c.s.conntrack,
                                 ConnTable::Replies::kGoAround)) {
    ConnTable::attachAffinity(e, b.slot);
    e->expires_ms.store(now_ms + s.affinity_ms, std::memory_order_relaxed);
  }
  return b;
}

namespace {

// Counter::add spelled as the load and store it is: the link-time
// optimiser's inlining budget is spent before it reaches the load
// balancer, and add() is then a call, twice a packet.
__attribute__((always_inline)) inline void bump(Counter& k, uint64_t n) { k.set(k.get() + n); }

// A packet of `bytes` for the backend in `slot` (ConnTable::backendOf:
// -1 for none; `backends`: the worker's counters, c.w.stats.backends,
// which a burst loop keeps at hand).
__attribute__((always_inline)) inline void count(BackendCounters* backends, int32_t slot, uint32_t bytes) {
  if (slot >= 0) {
    BackendCounters& b = backends[slot];
    bump(b.packets, 1);
    bump(b.bytes, bytes);
  }
}

// The next hop towards backend `ip` of a connection pinned to `slot`:
// resolved with the snapshot for the backends it has, routed for others (a
// connection pinned to a backend removed since). `on_link`: the backend is
// on a subnet of the port.
__attribute__((always_inline)) inline const NextHop& wayTo(const L3Ctx& c, int32_t slot, uint32_t ip, bool* on_link) {
  if (const LbTables::BackendHop* h = c.s.lb.backendHop(uint32_t(slot), ip)) {
    *on_link = h->on_link;
    return h->nh;
  }
  const NextHop& r = c.s.routes.lookup(ip);
  *on_link = r.kind == NhKind::kConnected;
  return r;
}

// IP-in-IP to the backend: an outer IPv4 header in front of the packet,
// from the gateway's address towards the backend.
__attribute__((noinline)) void tunnelTo(L3Ctx& c, Pkt& p, int32_t slot, uint32_t backend) {
  bool on_link;
  const NextHop& nh = wayTo(c, slot, backend, &on_link);
  if (nh.kind != NhKind::kConnected && nh.kind != NhKind::kVia) return c.w.drop(p, Drop::lb_backend_unreachable);
  Ip4Hdr* in = reinterpret_cast<Ip4Hdr*>(p.l3());
  const uint32_t total = be16(in->total_len);
  const PortL3& out = c.s.ports[nh.port];
  if (total + kIpipOverhead > out.mtu) {
    if (be16(in->frag_off) & kIp4FlagDf)
      icmpSendError(c, p, kIcmpDestUnreach, kIcmpCodeFragNeeded, uint16_t(out.mtu - kIpipOverhead));
    return c.w.drop(p, Drop::ip4_mtu_exceeded);
  }
  // Room for the outer header, and a VLAN tag the output port may add.
  if (p.headroom() < kIpipOverhead + sizeof(VlanTag)) return c.w.drop(p, Drop::lb_no_headroom);
  uint8_t* l3 = p.l3() - kIpipOverhead;
  p.data -= kIpipOverhead;
  p.addr -= kIpipOverhead;
  p.len = p.l2_len + kIpipOverhead + total;
  writeIpipHeader(reinterpret_cast<Ip4Hdr*>(l3), in, total, out.sourceFor(backend), backend);
  p.l3_len = sizeof(Ip4Hdr);
  c.event(Event::lb_forwarded);
  ip4Transmit(c, p, nh, nh.kind == NhKind::kVia ? nh.gateway : backend);
}

// Direct routing: the frame as it is, to the backend's MAC. `total`: the
// packet's IPv4 total length.
__attribute__((always_inline)) inline void directTo(L3Ctx& c, Pkt& p, int32_t slot, uint32_t backend, uint32_t total) {
  bool on_link;
  const NextHop& nh = wayTo(c, slot, backend, &on_link);
  if (!on_link) return c.w.drop(p, Drop::lb_backend_unreachable);
  const PortL3& out = c.s.ports[nh.port];
  if (total > out.mtu) return c.w.drop(p, Drop::ip4_mtu_exceeded);
  c.event(Event::lb_forwarded);
  ip4TransmitOn(c, p, nh, out, backend);
}

// A packet of a dr or tunnel connection `e` going the way it was opened
// (the replies go around the gateway): its state from the client's flags,
// else its expiry.
__attribute__((always_inline)) inline void trackOneWay(L3Ctx& c, ConnEntry* e, uint8_t proto, uint8_t tcp_flags,
                                                       uint32_t now_ms) {
  if (proto == kIpProtoTcp) {
    const ConnState s = ConnState(e->state.load(std::memory_order_relaxed));
    // Most segments: no SYN, FIN or RST, the handshake over; the state
    // stays (tcpOneWay would say so after more tests).
    if (!(tcp_flags & (kTcpSyn | kTcpFin | kTcpRst)) && s != ConnState::kTcpSynSent)
      return ConnTable::refresh(e, now_ms, c.s.conntrack.timeout_ms[uint32_t(s)]);
    const ConnState next = tcpOneWay(s, tcp_flags);
    if (next == s || !ConnTable::setState(e, s, next, now_ms, c.s.conntrack.timeout(next, proto)))
      ConnTable::refresh(e, now_ms, c.s.conntrack.timeout(s, proto));
  } else {
    connTrack(ConnHit{e, 0}, proto, tcp_flags, now_ms, c.s.conntrack);
  }
}

// A packet of a nat or fullnat connection `h`, either way: translated,
// then to the backend or back to the client.
__attribute__((noinline)) void forwardNat(L3Ctx& c, Pkt& p, ConnHit h, const FlowKey& k, uint8_t tcp_flags,
                                          uint32_t now_ms, uint32_t total) {
  const FlowKey other = h.e->keyOf(1 - h.dir);
  const int32_t slot = ConnTable::backendOf(h.e);
  count(c.w.stats.backends, slot, total);
  connTrack(h, k.proto(), tcp_flags, now_ms, c.s.conntrack);
  // The packet leaves with the other key's addresses, reversed.
  uint8_t* l3 = p.l3();
  if (other.src() != k.dst() || other.sport() != k.dport()) {
    rewriteEndpoint(l3, false, other.src(), other.sport());
    NFVGW_TRACE(c.w, p, nat, 1, other.src(), other.sport());
  }
  if (other.dst() != k.src() || other.dport() != k.sport()) {
    rewriteEndpoint(l3, true, other.dst(), other.dport());
    NFVGW_TRACE(c.w, p, nat, 0, other.dst(), other.dport());
  }
  c.event(h.dir == 0 ? Event::lb_forwarded : Event::lb_replied);
  const uint32_t dst = other.src();
  bool on_link;
  ip4Forward(c, p, dst, h.dir == 0 ? wayTo(c, slot, dst, &on_link) : c.s.routes.lookup(dst));
}

// A packet of connection `h` (found by key `k`; `total`: its IPv4 total
// length): to its backend, or (a reply in the nat modes) back to the
// client. The reply key of a dr or tunnel connection is in the zone that
// says so (only packets going the way the connection was opened find it;
// every key a packet yields is in zone 0), and only names the backend.
__attribute__((always_inline)) inline void forward(L3Ctx& c, Pkt& p, ConnHit h, const FlowKey& k, uint8_t tcp_flags,
                                                   uint32_t now_ms, uint32_t total, BackendCounters* backends) {
  if (h.dir == 0) {
    const FlowKey other = h.e->keyOf(1);
    const uint32_t zone = other.zone();
    if (zone == kZoneLbDr || zone == kZoneLbTunnel) {
      const int32_t slot = ConnTable::backendOf(h.e);
      count(backends, slot, total);
      trackOneWay(c, h.e, k.proto(), tcp_flags, now_ms);
      if (zone == kZoneLbDr) return directTo(c, p, slot, other.src(), total);
      return tunnelTo(c, p, slot, other.src());
    }
  }
  forwardNat(c, p, h, k, tcp_flags, now_ms, total);
}

// relatedError() for a fullnat connection `h` (`total`: the error's IPv4
// total length): made for the side it goes to (lbRewriteError), the
// connection's other key, and sent there.
void fullnatError(L3Ctx& c, Pkt& p, ConnHit h, uint32_t total) {
  const FlowKey to = h.e->keyOf(1 - h.dir);
  lbRewriteError(p.l3(), total, to, true);
  bool on_link;
  if (h.dir == 0) {
    c.event(Event::lb_forwarded);
    return ip4Forward(c, p, to.src(), wayTo(c, ConnTable::backendOf(h.e), to.src(), &on_link));
  }
  c.event(Event::lb_replied);
  ip4Forward(c, p, to.src(), c.s.routes.lookup(to.src()));
}

// An ICMP error about a packet of a load-balanced connection. To a VIP,
// about a packet a backend sent from it (a router on the way to the
// client: fragmentation needed, time exceeded; the client: port
// unreachable): for the backend, as it is in dr and tunnel mode (the
// backend sent the packet itself), translated in nat mode. Path-MTU
// discovery so works through the load balancer, as with IPVS and Katran.
// fullnat, either way (to a VIP about a reply; to a local address, from
// the backend, about a request): translated on both sides, the quoted
// packet made the one its receiver sent, the error from the peer the
// receiver knows (the local address for the backend, the VIP for the
// client), as DPVS does.
__attribute__((noinline)) void relatedError(L3Ctx& c, Pkt& p) {
  uint8_t* l3 = p.l3();
  const uint32_t total = be16(reinterpret_cast<const Ip4Hdr*>(l3)->total_len);
  const ConnHit h = lbErredConnection(c, l3, total, 0);
  if (!h.e) return c.w.drop(p, Drop::lb_untranslatable);
  const FlowKey reply = h.e->keyOf(1);
  if (reply.dst() != h.e->keyOf(0).src() && reply.zone() == 0) return fullnatError(c, p, h, total);
  if (h.dir != 0) return c.w.drop(p, Drop::lb_untranslatable);  // a nat backend's come through lbReply
  const int32_t slot = ConnTable::backendOf(h.e);
  if (reply.zone() == kZoneLbDr) return directTo(c, p, slot, reply.src(), total);
  if (reply.zone() == kZoneLbTunnel) return tunnelTo(c, p, slot, reply.src());
  uint32_t zone, backend;
  if (!natTranslateError(c, l3, total, 0, false, &zone, &backend)) return c.w.drop(p, Drop::lb_untranslatable);
  c.event(Event::lb_forwarded);
  ip4Forward(c, p, backend, c.s.routes.lookup(backend));
}

// The first packet of connection `k` (the table has none): a new
// connection when it is to a service, to the backend its scheduler picks.
// Consumes p; true when it made a connection.
__attribute__((noinline)) bool lbNew(L3Ctx& c, Pkt& p, const FlowKey& k, uint8_t tcp_flags, uint32_t now_ms,
                                     uint32_t total);

}  // namespace

void lbInput(L3Ctx& c, Pkt* const* pkts, uint32_t n) {
  // As the overlay does: every key first, with its bucket fetched, then the
  // first entry of each chain, then the lookups, which so wait on memory
  // once per burst rather than once per packet (a table of millions). Each
  // key is hashed once, for all three. The lookups are a loop of their own:
  // short iterations, so the processor has several of them (and their
  // misses further down a chain) in flight at once.
  FlowKey keys[kMaxBurst];
  uint32_t buckets[kMaxBurst];
  ConnEntry* hit[kMaxBurst];  // what each key found (a ConnHit's two halves: no array to clear)
  uint8_t hit_dir[kMaxBurst];
  uint8_t flags[kMaxBurst];
  bool keyed[kMaxBurst];
  for (uint32_t i = 0; i < n; ++i) {
    const Pkt& p = *pkts[i];
    flags[i] = 0;
    // The parser trimmed the frame to the IPv4 total length.
    keyed[i] = packetFlow(p.l3(), p.len - p.l2_len, keys[i], flags[i]);
    if (keyed[i]) {
      buckets[i] = c.ct.bucket(keys[i]);
      c.ct.prefetchBucket(buckets[i]);
    }
  }
  for (uint32_t i = 0; i < n; ++i)
    if (keyed[i]) c.ct.prefetchChain(buckets[i]);
  const uint32_t now_ms = c.nowMs();
  for (uint32_t i = 0; i < n; ++i) {
    if (!keyed[i]) continue;
    const ConnHit h = c.ct.findIn(buckets[i], keys[i], now_ms);
    hit[i] = h.e;
    hit_dir[i] = uint8_t(h.dir);
  }
  BackendCounters* const backends = c.w.stats.backends;
  uint32_t i = 0;
  for (; i < n; ++i) {
    Pkt& p = *pkts[i];
    const uint32_t total = p.len - p.l2_len;
    if (!keyed[i]) {
      relatedError(c, p);
    } else if (hit[i]) {
      NFVGW_TRACE(c.w, p, conntrack, 1, hit[i]->state.load(std::memory_order_relaxed), hit_dir[i]);
      forward(c, p, ConnHit{hit[i], hit_dir[i]}, keys[i], flags[i], now_ms, total, backends);
    } else if (lbNew(c, p, keys[i], flags[i], now_ms, total)) {
      ++i;
      break;
    }
  }
  // Once a packet has made a connection, the later ones look again: what
  // they found may have changed (the new connection is theirs, or its
  // reply key is their key), as if each had been looked up in its turn.
  for (; i < n; ++i) {
    Pkt& p = *pkts[i];
    const uint32_t total = p.len - p.l2_len;
    if (!keyed[i]) {
      relatedError(c, p);
    } else if (const ConnHit h = c.ct.find(keys[i], now_ms); h.e) {
      NFVGW_TRACE(c.w, p, conntrack, 1, h.e->state.load(std::memory_order_relaxed), h.dir);
      forward(c, p, h, keys[i], flags[i], now_ms, total, backends);
    } else {
      lbNew(c, p, keys[i], flags[i], now_ms, total);
    }
  }
}

void lbInput(L3Ctx& c, Pkt& p) {
  Pkt* one = &p;
  lbInput(c, &one, 1);
}

namespace {

bool lbNew(L3Ctx& c, Pkt& p, const FlowKey& k, uint8_t tcp_flags, uint32_t now_ms, uint32_t total) {
  const LbService* s = c.s.lb.service(k.dst(), k.proto(), k.dport());
  if (!s) {
    // Pings to a VIP are answered, as by any address of the gateway.
    if (k.proto() == kIpProtoIcmp && k.sport() != 0)
      icmpLocalInput(c, p);
    else
      c.w.drop(p, Drop::lb_not_service_port);
    return false;
  }
  if (tcp_flags & kTcpRst) {
    c.w.drop(p, Drop::lb_no_connection);
    return false;
  }
  if (s->pick.empty()) {
    c.w.drop(p, Drop::lb_no_backend);
    return false;
  }
  const LbBackend& b = lbSchedule(c, *s, k);
  const uint16_t bport =
      s->mode == LbMode::kNat || s->mode == LbMode::kFullNat ? (b.port ? b.port : k.dport()) : k.dport();
  NFVGW_TRACE(c.w, p, lb, s->index, b.ip, bport);
  FlowKey reply;
  ConnState first = connFirstState(k.proto(), tcp_flags);
  ConnTable::Replies replies = ConnTable::Replies::kFound;
  switch (s->mode) {
    case LbMode::kDr:
    case LbMode::kTunnel:
      reply =
          FlowKey::make(s->mode == LbMode::kDr ? kZoneLbDr : kZoneLbTunnel, b.ip, k.src(), bport, k.sport(), k.proto());
      if (k.proto() == kIpProtoTcp) first = tcpOneWay(ConnState::kTcpSynSent, tcp_flags);
      replies = ConnTable::Replies::kGoAround;
      break;
    case LbMode::kNat:
      reply = FlowKey::make(0, b.ip, k.src(), bport, k.sport(), k.proto());
      break;
    case LbMode::kFullNat: {
      const uint32_t local = s->local_ips[hash64(k.src()) % s->local_ips.size()];
      uint16_t lport;
      if (!lbFullnatPort(c, 0, k, local, b.ip, bport, &lport)) {
        c.w.drop(p, Drop::lb_fullnat_port_exhausted);
        return false;
      }
      reply = FlowKey::make(0, b.ip, local, bport, lport, k.proto());
      break;
    }
  }
  ConnEntry* e = c.ct.insert(c.w.worker_id, k, reply, first, now_ms, c.s.conntrack, replies);
  if (!e) {
    c.w.drop(p, Drop::conntrack_full);
    return false;
  }
  c.ct.attachBackend(e, b.slot);
  c.w.stats.backends[b.slot].connections.add();
  c.event(Event::conntrack_created);
  c.event(Event::lb_connection_created);
  NFVGW_TRACE(c.w, p, conntrack, 2, uint32_t(first), 0);
  forward(c, p, ConnHit{e, 0}, k, tcp_flags, now_ms, total, c.w.stats.backends);
  return true;
}

}  // namespace

bool lbReply(L3Ctx& c, Pkt& p) {
  uint8_t* l3 = p.l3();
  const uint32_t total = be16(reinterpret_cast<const Ip4Hdr*>(l3)->total_len);
  FlowKey k;
  uint8_t tcp_flags = 0;
  if (!packetFlowOf(0, l3, total, k, tcp_flags)) {
    // The backend's ICMP error about a request (a UDP port closed): to the
    // client, from the VIP, about the packet as the client sent it.
    const ConnHit h = lbErredConnection(c, l3, total, 0);
    uint32_t zone, vip;
    if (!h.e || h.dir != 1 || !natTranslateError(c, l3, total, 0, true, &zone, &vip)) return false;
    c.event(Event::lb_replied);
    const uint32_t client = be32(reinterpret_cast<const Ip4Hdr*>(l3)->dst);
    ip4Forward(c, p, client, c.s.routes.lookup(client));
    return true;
  }
  const uint32_t now_ms = c.nowMs();
  const ConnHit h = c.ct.find(k, now_ms);
  if (!h.e || h.dir != 1 || ConnTable::backendOf(h.e) < 0) return false;
  forward(c, p, h, k, tcp_flags, now_ms, total, c.w.stats.backends);
  return true;
}

}  // namespace nfvgw
