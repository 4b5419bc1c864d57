// The per-burst pipeline; see l3_pipeline.h.
#include "dataplane/l3_pipeline.h"

#include <cstring>

#include "nf/arp/arp.h"
#include "nf/route/ip4_forward.h"
#include "pkt/parse.h"

namespace nfvgw {

void L3Pipeline::process(WorkerCtx& w, Pkt* pkts, uint32_t n) {
  const Snapshot& s = *snap_;
  L3Ctx c{w, s, *neigh_, icmp_, wait_};
  for (uint32_t i = 0; i < n; ++i) {
    if (i + 2 < n) __builtin_prefetch(pkts[i + 2].data);
    Pkt& p = pkts[i];
    const PortL3& port = s.ports[p.port];
    int v = parseEthernet(p, port.mac, port.vlan, port.max_frame);
    if (v < 0) {
      w.drop(p, verdictDrop(v));
      continue;
    }
    if (v == kL2Arp) {
      arpInput(c, p);
      continue;
    }
    v = parseIp4(p);
    if (v < 0) {
      w.drop(p, verdictDrop(v));
      continue;
    }
    ip4Input(c, p);
  }
}

void L3Pipeline::end(WorkerCtx& w) {
  if (!wait_.empty()) {
    L3Ctx c{w, *snap_, *neigh_, icmp_, wait_};
    neighborWaitService(c);
  }
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
