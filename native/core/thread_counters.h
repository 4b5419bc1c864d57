// The processor's own count of cycles and instructions spent by the
// calling thread (perf_event_open), for the pipeline benchmarks: on a
// shared machine the wall clock's packets per second move by half from run
// to run, while instructions a packet hold still and cycles a packet show
// what the core itself did. Opened and read outside the packet loop.
#pragma once

#include <cstdint>

namespace nfvgw {

class ThreadCounters {
 public:
  struct Counts {
    uint64_t cycles = 0;
    uint64_t instructions = 0;
  };

  ThreadCounters() = default;
  ~ThreadCounters() { close(); }
  ThreadCounters(const ThreadCounters&) = delete;
  ThreadCounters& operator=(const ThreadCounters&) = delete;

  // Starts counting the calling thread's user-space work from zero. False
  // where the kernel gives no counters (no PMU in the VM, or
  // perf_event_paranoid above 2): read() then says nothing was counted.
  bool open();
  // What was counted since open(); zeros when not open.
  Counts read() const;
  void close();

 private:
  int leader_ = -1;  // cycles; instructions in its group
  int member_ = -1;
};

}  // namespace nfvgw
