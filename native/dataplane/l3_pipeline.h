// The gateway's packet pipeline for one worker: Ethernet/VLAN check, then
// ARP or IPv4 (header checks, local delivery or forwarding). Later network
// functions join here as stages.
#pragma once

#include <atomic>
#include <memory>

#include "core/worker.h"
#include "dataplane/l3_ctx.h"

namespace nfvgw {

class L3Pipeline {
 public:
  L3Pipeline(const std::atomic<const Snapshot*>* current, NeighborTable* neigh, ConnTable* conntrack)
      : current_(current), neigh_(neigh), conntrack_(conntrack) {}

  void begin(WorkerCtx&) { snap_ = current_->load(std::memory_order_acquire); }
  void process(WorkerCtx& w, Pkt* pkts, uint32_t n);
  void end(WorkerCtx& w);

 private:
  const std::atomic<const Snapshot*>* current_;
  NeighborTable* neigh_;
  ConnTable* conntrack_;
  const Snapshot* snap_ = nullptr;
  IcmpLimiter icmp_;
  NeighborWait wait_;
  std::unique_ptr<uint32_t[]> lb_rr_{new uint32_t[LbTables::kMaxServices]()};
  // The burst's event tally (L3Ctx::events): kept here, zero between
  // bursts, rather than cleared for every burst.
  uint32_t events_[kEventCount] = {};
};

// The in-memory floor the pipeline benchmark compares against: receive,
// swap the MACs, send back out of the same port. What any pipeline costs at
// least on this machine.
class FloorPipeline {
 public:
  void begin(WorkerCtx&) {}
  void process(WorkerCtx& w, Pkt* pkts, uint32_t n);
  void end(WorkerCtx&) {}
};

// A patch cable: frames received on port i leave port i ^ 1 unchanged. With
// a replaying mem port on one side and an interface on the other it is the
// benchmarks' traffic generator, built on the same port code as the gateway.
class PatchPipeline {
 public:
  void begin(WorkerCtx&) {}
  void process(WorkerCtx& w, Pkt* pkts, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) {
      uint16_t out = pkts[i].port ^ 1;
      if (out < w.ports()) {
        w.send(pkts[i], out);
      } else {
        w.drop(pkts[i], Drop::tx_error);
      }
    }
  }
  void end(WorkerCtx&) {}
};

}  // namespace nfvgw
