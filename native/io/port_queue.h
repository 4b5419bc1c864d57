// The I/O interface every port type implements, one object per (port, worker).
//
// A port is a device (an interface, or an in-memory port); each worker owns
// one queue of every port and is the only thread that touches it, so the
// rings need no locks. Receive and transmit move descriptors of frames that
// live in the worker's FramePool; AF_XDP moves them without copying.
#pragma once

#include <cstdint>

#include "core/counter.h"
#include "core/frame_pool.h"
#include "core/worker_stats.h"
#include "pkt/pkt.h"

namespace nfvgw {

struct QueueStats {
  Counter rx_packets;
  Counter rx_bytes;
  Counter tx_packets;
  Counter tx_bytes;
  Counter tx_dropped;  // frames we could not hand to the kernel (ring full, error)
};

// What the kernel counted for a queue (AF_XDP: XDP_STATISTICS; AF_PACKET:
// PACKET_STATISTICS). Read on the control thread.
struct KernelQueueStats {
  uint64_t rx_dropped = 0;     // dropped: receive ring full, or no room in the socket
  uint64_t rx_fill_empty = 0;  // AF_XDP: frames dropped because the fill ring had no free buffer
  uint64_t rx_invalid = 0;     // invalid descriptors
  uint64_t tx_invalid = 0;
};

// What every queue is given by its worker.
struct QueueEnv {
  FramePool* pool;
  WorkerStats* stats;
  const uint64_t* now_ns;  // the worker's clock, read once per loop iteration
  uint16_t port;           // port index
  uint16_t queue;          // queue index on the device (= worker index)
};

// Kicking the kernel to transmit is a system call; in copy mode the kernel
// does the whole transmission inside it. Kicks are batched: when this many
// frames wait, or when the oldest has waited the drain time (STYLE: "a TX
// drain on a timer", as DPDK's l2fwd does). The worker does not sleep while
// frames wait, so the last ones always go out.
inline constexpr uint32_t kTxKickBatch = 32;

class PortQueue {
 public:
  explicit PortQueue(const QueueEnv& env) : env_(env) {}
  virtual ~PortQueue() = default;
  PortQueue(const PortQueue&) = delete;
  PortQueue& operator=(const PortQueue&) = delete;

  // Receives up to `max` frames; returns how many descriptors it filled.
  virtual uint32_t rxBurst(Pkt* pkts, uint32_t max) = 0;
  // Transmits `n` frames. Every frame is consumed: queued to the device, or
  // returned to the pool and counted as a drop.
  virtual void txBurst(TxFrame* frames, uint32_t n) = 0;
  // Upkeep once per loop iteration: reap completions, refill receive rings,
  // push pending transmissions.
  virtual void service() {}
  // A file descriptor to poll() for received frames when the worker sleeps,
  // or -1 when there is none.
  virtual int pollFd() const = 0;
  // False while frames wait for the kernel, so the worker must not sleep yet.
  virtual bool txIdle() const { return true; }
  virtual KernelQueueStats kernelStats() const { return {}; }

  QueueStats stats;

 protected:
  QueueEnv env_;
};

}  // namespace nfvgw
