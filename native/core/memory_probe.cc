// Random cache-line loads over a large table; see memory_probe.h.
#include "core/memory_probe.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/hugemem.h"

namespace nfvgw {

namespace {

constexpr size_t kLine = 64;

// Walks `chains` chains for `steps` loads each, starting from `start`; the
// sum of the last lines keeps the compiler from dropping the walk.
uintptr_t walk(const uint8_t* base, const uint32_t* start, uint32_t chains, uint64_t steps) {
  uint32_t at[64];
  std::copy(start, start + chains, at);
  for (uint64_t s = 0; s < steps; ++s)
    for (uint32_t c = 0; c < chains; ++c) at[c] = *reinterpret_cast<const uint32_t*>(base + size_t(at[c]) * kLine);
  uintptr_t sum = 0;
  for (uint32_t c = 0; c < chains; ++c) sum += at[c];
  return sum;
}

}  // namespace

MemoryMiss measureMemoryMiss(size_t bytes, uint32_t chains, uint64_t loads, int core) {
  bytes = std::max<size_t>(bytes, size_t(64) << 20);
  chains = std::clamp<uint32_t>(chains, 1, 64);
  loads = std::max<uint64_t>(loads, 1'000'000);
  std::vector<std::string> warnings;
  MemRegion mem = MemRegion::allocate(bytes, HugePagePolicy::kAuto, "the memory probe", &warnings);
  const size_t lines = mem.size() / kLine;

  // One cycle through every line in a random order (Sattolo's shuffle), so
  // no hardware prefetcher can guess the next line: each line holds the
  // index of the next.
  std::vector<uint32_t> order(lines);
  for (size_t i = 0; i < lines; ++i) order[i] = uint32_t(i);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = lines - 1; i > 0; --i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::swap(order[i], order[x % i]);
  }
  uint8_t* base = mem.data();
  for (size_t i = 0; i < lines; ++i)
    *reinterpret_cast<uint32_t*>(base + size_t(order[i]) * kLine) = order[(i + 1) % lines];

  // Chains start evenly spaced along the cycle, so they never meet.
  uint32_t start[64];
  for (uint32_t c = 0; c < chains; ++c) start[c] = order[lines / chains * c];
  MemoryMiss m;
  m.huge_pages = mem.huge();
  std::thread probe([&] {
    if (core >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(core, &set);
      pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    }
    volatile uintptr_t sink = 0;
    uint64_t t0 = monoNs();
    sink = sink + walk(base, start, 1, loads);
    uint64_t t1 = monoNs();
    m.dependent_ns = double(t1 - t0) / double(loads);
    t0 = monoNs();
    sink = sink + walk(base, start, chains, loads / chains);
    t1 = monoNs();
    m.parallel_ns = double(t1 - t0) / double(loads / chains * chains);
  });
  probe.join();
  return m;
}

}  // namespace nfvgw
