// The in-memory port: frames are injected and collected by the control
// thread (golden-packet tests) or replayed from templates in a loop (the
// pipeline benchmark), with no kernel in the way. It behaves like a NIC
// queue: receiving copies a frame into a pool buffer (as DMA would),
// transmitting hands the frame out and frees the buffer.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "core/slot_ring.h"
#include "core/thread_counters.h"
#include "io/port_queue.h"

namespace nfvgw {

class MemQueue final : public PortQueue {
 public:
  MemQueue(const QueueEnv& env, MemRegion rx_mem, MemRegion tx_mem, uint32_t slots);
  ~MemQueue() override;

  uint32_t rxBurst(Pkt* pkts, uint32_t max) override;
  void txBurst(TxFrame* frames, uint32_t n) override;
  int pollFd() const override { return event_fd_; }

  // Control thread. inject() returns false when the ring is full or the frame
  // is larger than a slot; drain() pops up to `max` transmitted frames.
  bool inject(const uint8_t* data, uint32_t len);
  template <class Fn>
  uint32_t drain(uint32_t max, Fn&& fn) {
    uint32_t n = 0;
    uint32_t len;
    while (n < max) {
      const uint8_t* d = tx_ring_.peek(&len);
      if (!d) break;
      fn(d, len);
      tx_ring_.pop();
      ++n;
    }
    return n;
  }
  // True when every injected frame has been taken by the worker.
  bool rxEmpty() const { return rx_ring_.empty(); }

  // Benchmark modes, set before the worker starts. Replay: receive `count`
  // frames cycling through `templates` (and sink, since nobody collects);
  // the clock starts after the first `warmup` frames (tables filled, caches
  // warm). Sink: count transmitted frames instead of keeping them.
  void setReplay(std::vector<std::vector<uint8_t>> templates, uint64_t count, uint64_t warmup = 0);
  void setSink() { sink_ = true; }
  struct ReplayResult {
    uint64_t received;
    uint64_t timed;     // frames received since start_ns
    uint64_t start_ns;  // first replayed burst after the warm-up
    uint64_t done_ns;   // first empty poll after the last replayed burst (it has been processed)
    // The worker thread's cycles and instructions over the same time (0
    // where the kernel gives no counters; see ThreadCounters).
    uint64_t cycles;
    uint64_t instructions;
  };
  ReplayResult replayResult() const;

 private:
  SlotRing rx_ring_;
  SlotRing tx_ring_;
  int event_fd_ = -1;

  static constexpr uint64_t kReplayAhead = 8;      // frames a template is fetched before its copy
  static constexpr size_t kReplayCached = 16'384;  // templates that stay in cache (under 2 MB)
  bool replay_ = false;
  bool sink_ = false;
  std::vector<std::vector<uint8_t>> templates_;
  uint64_t replay_left_ = 0;
  uint64_t replay_next_ = 0;
  uint64_t replay_warmup_ = 0;
  std::atomic<uint64_t> replay_timed_from_{0};
  std::atomic<uint64_t> replay_received_{0};
  std::atomic<uint64_t> replay_start_ns_{0};
  std::atomic<uint64_t> replay_done_ns_{0};
  ThreadCounters replay_counters_;  // the worker's, while timed
  std::atomic<uint64_t> replay_cycles_{0};
  std::atomic<uint64_t> replay_instructions_{0};
  // Wakeups: inject() bumps `signals_` after writing the eventfd; the worker
  // reads the eventfd (a syscall) only when it has seen a new signal, not on
  // every empty poll.
  std::atomic<uint64_t> signals_{0};
  uint64_t seen_signals_ = 0;
};

}  // namespace nfvgw
