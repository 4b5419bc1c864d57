// Per-worker counters: one cache-aligned block per worker, written only by
// that worker (no atomics on the fast path), summed by the control plane.
#pragma once

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

  void drop(Drop d, uint64_t n = 1) { drops[uint32_t(d)].add(n); }
  void event(Event e, uint64_t n = 1) { events[uint32_t(e)].add(n); }
};

}  // namespace nfvgw
