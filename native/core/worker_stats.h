// Per-worker counters: one cache-aligned block per worker, written only by
// that worker (no atomics on the fast path), summed by the control plane.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>

#include "core/counter.h"
#include "core/drops.h"

namespace nfvgw {

// Burst-size histogram bins: 1, 2-3, 4-7, 8-15, 16-31, 32-63, 64.
inline constexpr uint32_t kBurstBins = 7;
inline constexpr uint32_t kBurstBinUpper[kBurstBins] = {1, 3, 7, 15, 31, 63, 64};
inline uint32_t burstBin(uint32_t n) {
  uint32_t b = uint32_t(std::bit_width(n)) - 1;
  return b < kBurstBins ? b : kBurstBins - 1;
}

// Load-balancer backends are counted by a slot number the control plane
// gives each (stable while the backend exists).
inline constexpr uint32_t kLbBackendSlots = 16384;

// Per backend: connections scheduled onto it, packets and bytes sent to it
// (and, in the nat modes, translated back from it).
struct BackendCounters {
  Counter connections, packets, bytes;
};

// Counters by a key met on the packet path (a NAT public address and
// protocol): a small open-addressing table per worker, filled by its worker
// alone (no allocation: a key finds a free slot, or the last slot, shared,
// when the table is full). Readers sum the same keys over the workers.
inline constexpr uint32_t kKeyedCounters = 1024;
struct KeyedCounter {
  std::atomic<uint64_t> key{0};  // 0: free
  Counter n;
};
inline void countByKey(KeyedCounter* table, uint64_t key) {
  uint32_t i = uint32_t((key * 0x9e3779b97f4a7c15ull) >> 54);  // 10 bits
  for (uint32_t probes = 0; probes < kKeyedCounters - 1; ++probes, i = (i + 1) & (kKeyedCounters - 1)) {
    const uint64_t k = table[i].key.load(std::memory_order_relaxed);
    if (k == key) return table[i].n.add();
    if (k == 0) {
      table[i].key.store(key, std::memory_order_relaxed);
      return table[i].n.add();
    }
  }
  table[kKeyedCounters - 1].n.add();
}

struct alignas(64) WorkerStats {
  Counter drops[kDropCount];
  Counter events[kEventCount];
  Counter busy_ns;  // time in loop iterations that moved packets
  Counter idle_ns;  // time in iterations that found nothing (incl. sleeping)
  Counter busy_loops;
  Counter idle_loops;
  Counter sleeps;        // times the adaptive mode blocked in poll()
  Counter heartbeat_ns;  // last loop iteration, for stall detection
  Counter pool_free;     // free frames in the worker pool (a gauge, set every iteration)
  Counter burst_hist[kBurstBins];
  Counter burst_sum;  // packets received in bursts (the histogram's sum)
  BackendCounters backends[kLbBackendSlots];
  // NAT port allocations that failed, by public address << 8 | protocol.
  KeyedCounter nat_exhausted[kKeyedCounters];

  void drop(Drop d, uint64_t n = 1) { drops[uint32_t(d)].add(n); }
  void event(Event e, uint64_t n = 1) { events[uint32_t(e)].add(n); }
};

}  // namespace nfvgw
