// Monotonic time for the workers (read once per loop iteration, not per packet).
#pragma once

#include <cstdint>
#include <ctime>

namespace nfvgw {

inline uint64_t monoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

}  // namespace nfvgw
