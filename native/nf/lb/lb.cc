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

constexpr uint8_t kIpProtoIpip = 4;
constexpr uint32_t kIpipOverhead = sizeof(Ip4Hdr);

// The hash Maglev looks a connection up by: its five-tuple (or, for the
// source-hash scheduler, its source address alone), the same in every
// gateway, so that gateways sharing a VIP behind ECMP agree without state.
uint64_t flowHash(const FlowKey& k) { return hash64(k.addrs ^ hash64(k.rest)); }
uint64_t sourceHash(const FlowKey& k) { return hash64(k.src()); }

// TCP as seen from one side only (dr, tunnel: the replies go around the
// gateway): the client's SYN opens, its first ACK establishes, its FIN or
// a RST closes, like IPVS's state table for input-only connections.
ConnState tcpOneWay(ConnState s, uint8_t flags) {
  using S = ConnState;
  if (flags & kTcpRst) return S::kTcpClose;
  if (flags & kTcpFin) return S::kTcpFinWait;
  if ((flags & (kTcpSyn | kTcpAck)) == kTcpSyn)
    return s == S::kTcpFinWait || s == S::kTcpTimeWait || s == S::kTcpClose ? S::kTcpSynSent : s;
  if ((flags & kTcpAck) && s == S::kTcpSynSent) return S::kTcpEstablished;
  return s;
}

}  // namespace

const LbBackend& lbSchedule(L3Ctx& c, const LbService& s, const FlowKey& k) {
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

namespace {

void count(L3Ctx& c, const ConnEntry* e, uint32_t bytes) {
  if (const int32_t slot = ConnTable::backendOf(e); slot >= 0) {
    BackendCounters& b = c.w.stats.backends[slot];
    b.packets.add();
    b.bytes.add(bytes);
  }
}

// The next hop towards a backend: resolved with the snapshot for the
// backends it has, routed for others (a connection pinned to a backend
// removed since). `on_link`: the backend is on a subnet of the port.
const NextHop& wayTo(const L3Ctx& c, uint32_t ip, bool* on_link) {
  if (const LbTables::BackendHop* h = c.s.lb.backendHop(ip)) {
    *on_link = h->on_link;
    return h->nh;
  }
  const NextHop& r = c.s.routes.lookup(ip);
  *on_link = r.kind == NhKind::kConnected;
  return r;
}

// IP-in-IP to the backend: an outer IPv4 header in front of the packet,
// from the gateway's address towards the backend.
void tunnelTo(L3Ctx& c, Pkt& p, uint32_t backend) {
  bool on_link;
  const NextHop& nh = wayTo(c, backend, &on_link);
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
  Ip4Hdr* o = reinterpret_cast<Ip4Hdr*>(l3);
  o->ver_ihl = 0x45;
  o->tos = in->tos;
  o->total_len = be16(uint16_t(total + kIpipOverhead));
  o->id = 0;
  o->frag_off = in->frag_off & be16(kIp4FlagDf);
  o->ttl = 64;
  o->proto = kIpProtoIpip;
  o->csum = 0;
  o->src = be32(out.sourceFor(backend));
  o->dst = be32(backend);
  o->csum = ip4HeaderCsum(o, sizeof(Ip4Hdr));
  p.l3_len = sizeof(Ip4Hdr);
  c.event(Event::lb_forwarded);
  ip4Transmit(c, p, nh, nh.kind == NhKind::kVia ? nh.gateway : backend);
}

// Direct routing: the frame as it is, to the backend's MAC.
void directTo(L3Ctx& c, Pkt& p, uint32_t backend) {
  bool on_link;
  const NextHop& nh = wayTo(c, backend, &on_link);
  if (!on_link) return c.w.drop(p, Drop::lb_backend_unreachable);
  const uint32_t total = be16(reinterpret_cast<const Ip4Hdr*>(p.l3())->total_len);
  if (total > c.s.ports[nh.port].mtu) return c.w.drop(p, Drop::ip4_mtu_exceeded);
  c.event(Event::lb_forwarded);
  ip4Transmit(c, p, nh, backend);
}

// A packet of connection `h` (found by key `k`): to its backend, or (a
// reply in the nat modes) back to the client.
void forward(L3Ctx& c, Pkt& p, const ConnHit& h, const FlowKey& k, uint8_t tcp_flags, uint32_t now_ms) {
  const FlowKey other = h.e->keyOf(1 - h.dir);
  const uint32_t zone = h.dir == 0 ? other.zone() : k.zone();
  const uint32_t total = be16(reinterpret_cast<const Ip4Hdr*>(p.l3())->total_len);
  count(c, h.e, total);
  if (zone == kZoneLbDr || zone == kZoneLbTunnel) {
    if (k.proto() == kIpProtoTcp) {
      const ConnState s = ConnState(h.e->state.load(std::memory_order_relaxed));
      const ConnState next = tcpOneWay(s, tcp_flags);
      if (next == s || !ConnTable::setState(h.e, s, next, now_ms, c.s.conntrack.timeout(next, k.proto())))
        ConnTable::refresh(h.e, now_ms, c.s.conntrack.timeout(s, k.proto()));
    } else {
      connTrack(h, k.proto(), tcp_flags, now_ms, c.s.conntrack);
    }
    return zone == kZoneLbDr ? directTo(c, p, other.src()) : tunnelTo(c, p, other.src());
  }
  connTrack(h, k.proto(), tcp_flags, now_ms, c.s.conntrack);
  // The packet leaves with the other key's addresses, reversed.
  uint8_t* l3 = p.l3();
  if (other.src() != k.dst() || other.sport() != k.dport()) rewriteEndpoint(l3, false, other.src(), other.sport());
  if (other.dst() != k.src() || other.dport() != k.sport()) rewriteEndpoint(l3, true, other.dst(), other.dport());
  c.event(h.dir == 0 ? Event::lb_forwarded : Event::lb_replied);
  const uint32_t dst = other.src();
  bool on_link;
  ip4Forward(c, p, dst, h.dir == 0 ? wayTo(c, dst, &on_link) : c.s.routes.lookup(dst));
}

// A local port on `local` towards the backend endpoint for a new fullnat
// connection: free when no connection's reply key has it. Starts from a
// point that depends on the client's endpoint and probes onwards. Two
// workers taking the same port for two clients in the same instant is not
// excluded (the later connection's replies would meet the earlier one).
bool fullnatPort(L3Ctx& c, const FlowKey& k, uint32_t local, uint32_t backend, uint16_t bport, uint16_t* port) {
  constexpr uint32_t kLo = 1024, kRange = 65536 - kLo;
  uint32_t at = uint32_t(hash64(uint64_t(k.src()) << 16 | k.sport()) % kRange);
  for (int tries = 0; tries < 64; ++tries) {
    const uint16_t lport = uint16_t(kLo + at);
    if (!c.ct.find(FlowKey::make(0, backend, local, bport, lport, k.proto())).e) {
      *port = lport;
      return true;
    }
    at = (at + 1 + uint32_t(tries) * 7919) % kRange;
  }
  return false;
}

// The load-balanced connection an ICMP error (destination unreachable,
// time exceeded, parameter problem) is about: the one of its quoted
// header, reversed (the error answers a packet the connection sent).
ConnHit erredConnection(L3Ctx& c, const uint8_t* l3, uint32_t total) {
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(l3);
  const uint32_t ihl = ip->headerLen();
  if (ip->proto != kIpProtoIcmp || total < ihl + 8 + sizeof(Ip4Hdr) + 8) return {};
  const uint8_t type = l3[ihl];
  if (type != kIcmpDestUnreach && type != kIcmpTimeExceeded && type != kIcmpParamProblem) return {};
  const uint8_t* quoted = l3 + ihl + 8;
  FlowKey qk;
  uint8_t flags = 0;
  if ((quoted[0] >> 4) != 4 || !flowOf(0, quoted, total - ihl - 8, qk, flags)) return {};
  const ConnHit h = c.ct.find(qk.reversed());
  return h.e && ConnTable::backendOf(h.e) >= 0 ? h : ConnHit{};
}

// An ICMP error to a VIP about a packet a backend sent from it (a router
// on the way to the client: fragmentation needed, time exceeded; the
// client: port unreachable), for the backend: as it is in dr and tunnel
// mode (the backend sent the packet itself), translated in nat mode.
// Path-MTU discovery so works through the load balancer, as with IPVS and
// Katran. (fullnat: not yet; counted as lb_untranslatable.)
void relatedError(L3Ctx& c, Pkt& p) {
  uint8_t* l3 = p.l3();
  const uint32_t total = be16(reinterpret_cast<const Ip4Hdr*>(l3)->total_len);
  const ConnHit h = erredConnection(c, l3, total);
  if (!h.e || h.dir != 0) return c.w.drop(p, Drop::lb_untranslatable);
  const FlowKey other = h.e->keyOf(1);
  if (other.zone() == kZoneLbDr) return directTo(c, p, other.src());
  if (other.zone() == kZoneLbTunnel) return tunnelTo(c, p, other.src());
  if (other.dst() != h.e->keyOf(0).src()) return c.w.drop(p, Drop::lb_untranslatable);  // fullnat
  uint32_t zone, backend;
  if (!natTranslateError(c, l3, total, 0, false, &zone, &backend)) return c.w.drop(p, Drop::lb_untranslatable);
  c.event(Event::lb_forwarded);
  ip4Forward(c, p, backend, c.s.routes.lookup(backend));
}

// A packet of connection `k` (a new one, or one the table has).
void lbPacket(L3Ctx& c, Pkt& p, const FlowKey& k, uint8_t tcp_flags);

}  // namespace

void lbInput(L3Ctx& c, Pkt* const* pkts, uint32_t n) {
  // As the overlay does: every key first, with its bucket fetched, then the
  // first entry of each chain, then the lookups, which so wait on memory
  // once per burst rather than once per packet (a table of millions).
  FlowKey keys[kMaxBurst];
  uint8_t flags[kMaxBurst];
  bool keyed[kMaxBurst];
  for (uint32_t i = 0; i < n; ++i) {
    const uint8_t* l3 = pkts[i]->l3();
    flags[i] = 0;
    keyed[i] = flowOf(0, l3, be16(reinterpret_cast<const Ip4Hdr*>(l3)->total_len), keys[i], flags[i]);
    if (keyed[i]) c.ct.prefetch(keys[i]);
  }
  for (uint32_t i = 0; i < n; ++i)
    if (keyed[i]) c.ct.prefetchEntry(keys[i]);
  for (uint32_t i = 0; i < n; ++i) {
    if (keyed[i])
      lbPacket(c, *pkts[i], keys[i], flags[i]);
    else
      relatedError(c, *pkts[i]);
  }
}

void lbInput(L3Ctx& c, Pkt& p) {
  Pkt* one = &p;
  lbInput(c, &one, 1);
}

namespace {

void lbPacket(L3Ctx& c, Pkt& p, const FlowKey& k, uint8_t tcp_flags) {
  const uint32_t now_ms = uint32_t(c.w.now_ns / 1'000'000);
  if (const ConnHit h = c.ct.find(k); h.e) return forward(c, p, h, k, tcp_flags, now_ms);

  // A new connection.
  const LbService* s = c.s.lb.service(k.dst(), k.proto(), k.dport());
  if (!s) {
    // Pings to a VIP are answered, as by any address of the gateway.
    if (k.proto() == kIpProtoIcmp && k.sport() != 0) return icmpLocalInput(c, p);
    return c.w.drop(p, Drop::lb_not_service_port);
  }
  if (tcp_flags & kTcpRst) return c.w.drop(p, Drop::lb_no_connection);
  if (s->pick.empty()) return c.w.drop(p, Drop::lb_no_backend);
  const LbBackend& b = lbSchedule(c, *s, k);
  const uint16_t bport =
      s->mode == LbMode::kNat || s->mode == LbMode::kFullNat ? (b.port ? b.port : k.dport()) : k.dport();
  FlowKey reply;
  ConnState first = connFirstState(k.proto(), tcp_flags);
  switch (s->mode) {
    case LbMode::kDr:
    case LbMode::kTunnel:
      reply =
          FlowKey::make(s->mode == LbMode::kDr ? kZoneLbDr : kZoneLbTunnel, b.ip, k.src(), bport, k.sport(), k.proto());
      if (k.proto() == kIpProtoTcp) first = tcpOneWay(ConnState::kTcpSynSent, tcp_flags);
      break;
    case LbMode::kNat:
      reply = FlowKey::make(0, b.ip, k.src(), bport, k.sport(), k.proto());
      break;
    case LbMode::kFullNat: {
      const uint32_t local = s->local_ips[hash64(k.src()) % s->local_ips.size()];
      uint16_t lport;
      if (!fullnatPort(c, k, local, b.ip, bport, &lport)) return c.w.drop(p, Drop::lb_fullnat_port_exhausted);
      reply = FlowKey::make(0, b.ip, local, bport, lport, k.proto());
      break;
    }
  }
  ConnEntry* e = c.ct.insert(c.w.worker_id, k, reply, first, now_ms, c.s.conntrack);
  if (!e) return c.w.drop(p, Drop::conntrack_full);
  c.ct.attachBackend(e, b.slot);
  c.w.stats.backends[b.slot].connections.add();
  c.event(Event::conntrack_created);
  c.event(Event::lb_connection_created);
  forward(c, p, ConnHit{e, 0}, k, tcp_flags, now_ms);
}

}  // namespace

bool lbReply(L3Ctx& c, Pkt& p) {
  uint8_t* l3 = p.l3();
  const uint32_t total = be16(reinterpret_cast<const Ip4Hdr*>(l3)->total_len);
  FlowKey k;
  uint8_t tcp_flags = 0;
  if (!flowOf(0, l3, total, k, tcp_flags)) {
    // The backend's ICMP error about a request (a UDP port closed): to the
    // client, from the VIP, about the packet as the client sent it.
    const ConnHit h = erredConnection(c, l3, total);
    uint32_t zone, vip;
    if (!h.e || h.dir != 1 || !natTranslateError(c, l3, total, 0, true, &zone, &vip)) return false;
    c.event(Event::lb_replied);
    const uint32_t client = be32(reinterpret_cast<const Ip4Hdr*>(l3)->dst);
    ip4Forward(c, p, client, c.s.routes.lookup(client));
    return true;
  }
  const ConnHit h = c.ct.find(k);
  if (!h.e || h.dir != 1 || ConnTable::backendOf(h.e) < 0) return false;
  forward(c, p, h, k, tcp_flags, uint32_t(c.w.now_ns / 1'000'000));
  return true;
}

}  // namespace nfvgw
