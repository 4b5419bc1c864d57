// What a load of a random cache line costs on this machine, for the
// benchmarks: a pipeline whose table of connections is far larger than
// the caches (a million flows) waits on such a line for nearly every
// packet, a cost the in-memory floor never pays. Measured the way a
// pipeline meets it: lines of one table of huge pages (as the connection
// table's), each load's address known only from the previous one
// (latency), or many such chains walked side by side as a burst's staged
// lookups do (what the memory system delivers with every miss buffer busy).
#pragma once

#include <cstddef>
#include <cstdint>

namespace nfvgw {

struct MemoryMiss {
  double dependent_ns = 0;  // one chain: a load's full latency
  double parallel_ns = 0;   // `chains` chains at once: the time per load
  bool huge_pages = false;  // the table was on huge pages
};

// Over a table of `bytes` (at least 64 MiB, well past any cache), walks
// `loads` lines (at least 1M) as one chain and then as `chains` (1..64)
// at once, on a thread of its own pinned to `core` (-1: anywhere), the
// core the benchmarks pin their worker to. Blocks while it walks (`loads`
// latencies: 2-3 s for 16M here); throws nfvgw::Error (kMemory) when the
// table cannot be mapped.
MemoryMiss measureMemoryMiss(size_t bytes, uint32_t chains, uint64_t loads, int core);

}  // namespace nfvgw
