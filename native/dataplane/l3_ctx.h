// What the L3 stages share while one worker processes one burst: the worker
// (buffers, counters, transmit batches), the snapshot, the learned
// neighbors, and the worker's ICMP rate limiter and packets waiting for ARP.
#pragma once

#include "core/worker.h"
#include "dataplane/snapshot.h"
#include "nf/arp/neighbor_table.h"
#include "nf/arp/neighbor_wait.h"
#include "nf/icmp/icmp_limiter.h"

namespace nfvgw {

struct L3Ctx {
  WorkerCtx& w;
  const Snapshot& s;
  NeighborTable& neigh;
  IcmpLimiter& icmp;
  NeighborWait& wait;
  // Counted per burst and added to the worker's counter once, not per packet.
  uint32_t forwarded = 0;
};

}  // namespace nfvgw
