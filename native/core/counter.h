// Single-writer counters for the fast path. Only the owning worker writes a
// counter; other threads (the control plane summing stats) read it. A relaxed
// load plus a relaxed store compiles to a plain add on x86: no lock prefix, no
// cache-line ping-pong, and still no data race in the C++ memory model.
#pragma once

#include <atomic>
#include <cstdint>

namespace nfvgw {

class Counter {
 public:
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void set(uint64_t n) { v_.store(n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace nfvgw
