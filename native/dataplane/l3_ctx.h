// What the L3 stages share while one worker processes one burst: the worker
// (buffers, counters, transmit batches), the snapshot, the learned
// neighbors, the connection table, and the worker's ICMP rate limiter and
// packets waiting for ARP.
#pragma once

#include "core/worker.h"
#include "dataplane/snapshot.h"
#include "nf/arp/neighbor_table.h"
#include "nf/arp/neighbor_wait.h"
#include "nf/conntrack/conntrack.h"
#include "nf/icmp/icmp_limiter.h"

namespace nfvgw {

struct L3Ctx {
  WorkerCtx& w;
  const Snapshot& s;
  NeighborTable& neigh;
  IcmpLimiter& icmp;
  NeighborWait& wait;
  ConnTable& ct;
  uint32_t* lb_rr;  // the worker's place in each service's round-robin order
  // Events are counted per burst in the pipeline's tally (kEventCount
  // entries, zero between bursts) and added to the worker's counters once
  // (flush(), which clears what it added), not per packet.
  uint32_t* events;

  // The worker's clock in milliseconds (the connection table's).
  uint32_t nowMs() const { return ConnTable::clockMs(w.now_ns); }
  void event(Event e) { ++events[uint32_t(e)]; }
  void flush() {
    for (uint32_t i = 0; i < kEventCount; ++i)
      if (events[i]) {
        w.stats.events[i].add(events[i]);
        events[i] = 0;
      }
  }
};

}  // namespace nfvgw
