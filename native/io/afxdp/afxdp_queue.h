// An AF_XDP socket on one queue of an interface, via libxdp's xsk_* API.
//
// All AF_XDP sockets of a worker share one UMEM, the worker's FramePool, so
// a frame received on one port is transmitted on another by passing its
// address: no copy in zero-copy mode, one (the kernel's) in copy mode. Each
// socket has its own fill and completion rings, as the kernel requires for
// sockets on different queues or devices.
#pragma once

#include <xdp/xsk.h>

#include <memory>
#include <string>

#include "io/port_queue.h"

namespace nfvgw {

// The UMEM of one worker. Sockets hold it by shared_ptr; it is deleted after
// the last of them.
class XskUmem {
 public:
  // Registers the pool's memory as a UMEM. Throws Error(kPortOpen).
  XskUmem(FramePool* pool, uint32_t ring_size);
  ~XskUmem();
  XskUmem(const XskUmem&) = delete;
  XskUmem& operator=(const XskUmem&) = delete;

  xsk_umem* get() const { return umem_; }
  // Every socket's fill and completion rings have this size.
  uint32_t ringSize() const { return ring_size_; }

 private:
  xsk_umem* umem_ = nullptr;
  uint32_t ring_size_;
  // The UMEM's own rings; libxdp hands them to the first socket.
  xsk_ring_prod fill_{};
  xsk_ring_cons comp_{};
};

struct AfXdpQueueConfig {
  std::string where;  // "port p0 (eth1) queue 0", for errors
  std::string ifname;
  uint32_t queue_id = 0;
  int xsks_map_fd = -1;
  bool zero_copy = false;
  uint32_t ring_size = 2048;  // RX and TX rings
  uint64_t tx_drain_ns = 50000;
};

class AfXdpQueue final : public PortQueue {
 public:
  // Must run in the interface's network namespace. Throws Error(kPortOpen).
  AfXdpQueue(const QueueEnv& env, std::shared_ptr<XskUmem> umem, const AfXdpQueueConfig& cfg);
  ~AfXdpQueue() override;

  uint32_t rxBurst(Pkt* pkts, uint32_t max) override;
  void txBurst(TxFrame* frames, uint32_t n) override;
  void service() override;
  int pollFd() const override { return fd_; }
  bool txIdle() const override { return tx_outstanding_ == 0; }
  KernelQueueStats kernelStats() const override;

  // True when the interface's driver accepts a zero-copy socket on `queue`
  // (probed with a throwaway socket and UMEM).
  static bool probeZeroCopy(const std::string& ifname, uint32_t queue);

 private:
  void refill();
  void reapCompletions();
  void kickTx();

  std::shared_ptr<XskUmem> umem_;
  xsk_socket* xsk_ = nullptr;
  int fd_ = -1;
  xsk_ring_cons rx_{};
  xsk_ring_prod tx_{};
  xsk_ring_prod fill_{};
  xsk_ring_cons comp_{};
  uint32_t fill_size_;
  uint32_t fill_outstanding_ = 0;  // frames given to the kernel to receive into
  uint32_t tx_outstanding_ = 0;    // frames sent and not yet completed
  uint64_t tx_drain_ns_;
  uint64_t tx_waiting_since_ = 0;  // when frames began to wait for a kick (0: none wait)
};

}  // namespace nfvgw
