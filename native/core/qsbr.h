// Quiescent-state-based reclamation for the configuration snapshots.
//
// The control plane publishes a new immutable snapshot with one atomic
// pointer swap and retires the old one; it frees the old one only after every
// worker has passed a quiescent point (the end of a loop iteration, where it
// holds no pointer into any snapshot) or is offline (asleep in poll()).
// Workers pay one relaxed-cost store per loop iteration, nothing per packet.
//
// Race reasoning, where the workers and the publisher meet:
//  - Publisher: exchange(snapshot) then epoch.fetch_add (both seq_cst), then
//    waits until no online worker reports an epoch below the new one.
//  - Worker, per iteration: load snapshot (acquire), use it, then
//    store(seen = epoch) (release). A worker reporting seen >= target loaded
//    the epoch after the publisher's increment, so its later snapshot loads
//    return the new pointer; every use of the old pointer happened before
//    that store.
//  - Worker going to sleep stores 0 (offline): it holds no snapshot pointer.
//    Coming back it stores the current epoch and then issues a seq_cst fence
//    before its next snapshot load. Either the publisher saw that store (and
//    waits for the worker) or the fence orders the worker's snapshot load
//    after the publisher's exchange (so it loads the new pointer). Without
//    the fence the store could sit in the store buffer while the load reads
//    the old pointer: a classic store-load reordering.
#pragma once

#include <atomic>
#include <cstdint>

namespace nfvgw {

inline constexpr int kMaxWorkers = 64;

class Qsbr {
 public:
  // Worker side.
  void quiescent(int worker) {
    slots_[worker].seen.store(epoch_.load(std::memory_order_acquire), std::memory_order_release);
  }
  void offline(int worker) { slots_[worker].seen.store(0, std::memory_order_release); }
  void online(int worker) {
    slots_[worker].seen.store(epoch_.load(std::memory_order_acquire), std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }

  // Publisher side: call after swapping the pointer; returns the epoch the
  // workers must reach before the old snapshot may be freed.
  uint64_t advance() { return epoch_.fetch_add(1, std::memory_order_seq_cst) + 1; }

  // True when every online worker has reported an epoch >= target.
  bool passed(uint64_t target, int workers) const {
    for (int w = 0; w < workers; ++w) {
      uint64_t seen = slots_[w].seen.load(std::memory_order_acquire);
      if (seen != 0 && seen < target) return false;
    }
    return true;
  }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> seen{0};
  };
  alignas(64) std::atomic<uint64_t> epoch_{1};
  Slot slots_[kMaxWorkers];
};

}  // namespace nfvgw
