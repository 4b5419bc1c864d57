// The per-burst pipeline; see l3_pipeline.h.
#include "dataplane/l3_pipeline.h"

#include <cstring>

#include "nf/arp/arp.h"
#include "nf/lb/lb.h"
#include "nf/nat/nat.h"
#include "nf/route/ip4_forward.h"
#include "nf/vpc/overlay.h"
#include "pkt/parse.h"

namespace nfvgw {

// The burst goes through in stages, as VPP does: every header is checked
// first, then every destination is looked up in one tight loop (independent
// lookups overlap in the memory system instead of waiting on each other
// between other work), then each packet is delivered or forwarded.
void L3Pipeline::process(WorkerCtx& w, Pkt* pkts, uint32_t n) {
  const Snapshot& s = *snap_;
  L3Ctx c{w, s, *neigh_, icmp_, wait_, *conntrack_, lb_rr_.get(), events_};
  enum : uint8_t { kDone, kArp, kIp4, kOverlay, kInternet };
  const OverlayTables& ov = s.overlay;
  uint8_t next[kMaxBurst];
  uint32_t dst[kMaxBurst];
  uint32_t hop[kMaxBurst];

  for (uint32_t i = 0; i < n; ++i) {
    if (i + 2 < n) __builtin_prefetch(pkts[i + 2].data);
    Pkt& p = pkts[i];
    const PortL3& port = s.ports[p.port];
    int v = parseEthernet(p, port.mac, port.vlan, port.max_frame);
    if (v == kL2Ip4)
      v = parseIp4(p);
    else if (v == kL2Arp) {
      NFVGW_TRACE(w, p, parsed, kEthP_Arp, 0, p.vlan);
      next[i] = kArp;
      continue;
    }
    if (v < 0) {
      w.drop(p, verdictDrop(v));
      next[i] = kDone;
      continue;
    }
    NFVGW_TRACE(w, p, parsed, kEthP_Ip4, reinterpret_cast<const Ip4Hdr*>(p.l3())->proto, p.vlan);
    dst[i] = be32(reinterpret_cast<const Ip4Hdr*>(p.l3())->dst);
    if (ip4IsMartian(dst[i])) {
      w.drop(p, Drop::ip4_martian_destination);
      next[i] = kDone;
      continue;
    }
    next[i] = kIp4;
    if (ov.enabled && dst[i] == ov.vtep_ip && p.port == ov.port) {
      // VXLAN to the gateway's VTEP address: the overlay takes it.
      const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(p.l3());
      const uint8_t* l4 = p.l3() + p.l3_len;
      uint16_t dport;
      if (ip->proto == kIpProtoUdp && be16(ip->total_len) >= p.l3_len + sizeof(UdpHdr) &&
          (std::memcpy(&dport, l4 + 2, 2), be16(dport) == ov.udp_port))
        next[i] = kOverlay;
    } else if (int32_t(p.port) == ov.uplink && ov.publicIp(dst[i])) {
      // From the internet to a NAT gateway or an elastic IP.
      next[i] = kInternet;
    }
  }

  // Every destination looked up in one loop. Consecutive packets to the
  // same address (a VIP, the VTEP, a busy host) share one lookup: a compare
  // instead of a walk down the trie. 0/8 is martian and never gets here, so
  // last_dst 0 is "none yet". Packets to a VIP go to the load balancer's
  // list here, which takes the burst's share at once.
  const std::vector<NextHop>& hops = s.routes.nexthops();
  Pkt* lb[kMaxBurst];
  uint32_t lb_n = 0;
  uint32_t last_dst = 0, last_hop = 0;
  bool last_lb = false;
  for (uint32_t i = 0; i < n; ++i) {
    if (next[i] != kIp4) continue;
    if (dst[i] != last_dst) {
      last_dst = dst[i];
      last_hop = s.routes.lookupIndex(dst[i]);
      last_lb = hops[last_hop].kind == NhKind::kLoadBalancer;
    }
    hop[i] = last_hop;
    NFVGW_TRACE(w, pkts[i], route, uint32_t(hops[last_hop].kind), hops[last_hop].port, hops[last_hop].gateway);
    if (last_lb) {
      lb[lb_n++] = &pkts[i];
      next[i] = kDone;
    }
  }

  // The rest, in order (nothing when the whole burst is to VIPs).
  const bool lb_replies = s.lb.hasNatBackends();
  Pkt* overlay[kMaxBurst];
  uint32_t overlay_n = 0;
  for (uint32_t i = 0; i < n && lb_n != n; ++i) {
    if (next[i] == kIp4) {
      // Replies of the backends of nat-mode services go back translated.
      if (lb_replies && s.lb.natBackend(be32(reinterpret_cast<const Ip4Hdr*>(pkts[i].l3())->src)) &&
          lbReply(c, pkts[i]))
        continue;
      ip4Forward(c, pkts[i], dst[i], hops[hop[i]]);
    } else if (next[i] == kOverlay) {
      overlay[overlay_n++] = &pkts[i];
    } else if (next[i] == kArp) {
      arpInput(c, pkts[i]);
    } else if (next[i] == kInternet) {
      natIngress(c, pkts[i]);
    }
  }
  if (overlay_n) overlayInput(c, overlay, overlay_n);
  if (lb_n) lbInput(c, lb, lb_n);
  c.flush();
}

void L3Pipeline::end(WorkerCtx& w) {
  if (!wait_.empty()) {
    L3Ctx c{w, *snap_, *neigh_, icmp_, wait_, *conntrack_, lb_rr_.get(), events_};
    neighborWaitService(c);
    c.flush();
  }
  // Expiry: a slice of this worker's share of the connection table.
  const ConnTable::Swept swept =
      conntrack_->sweep(w.worker_id, ConnTable::clockMs(w.now_ns), w.now_ns, snap_->conntrack.sweepPeriodMs());
  if (swept.connections) w.stats.event(Event::conntrack_removed, swept.connections);
  if (swept.mappings) w.stats.event(Event::nat_mapping_removed, swept.mappings);
  snap_ = nullptr;
}

void FloorPipeline::process(WorkerCtx& w, Pkt* pkts, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    if (i + 2 < n) __builtin_prefetch(pkts[i + 2].data);
    uint8_t tmp[6];
    std::memcpy(tmp, pkts[i].data, 6);
    std::memcpy(pkts[i].data, pkts[i].data + 6, 6);
    std::memcpy(pkts[i].data + 6, tmp, 6);
    w.send(pkts[i], pkts[i].port);
  }
}

}  // namespace nfvgw
