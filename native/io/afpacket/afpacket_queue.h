// A raw-socket queue for interfaces without XDP: a TPACKET_V3 memory-mapped
// receive ring (the kernel fills whole blocks, we walk them without a
// syscall per frame), a memory-mapped transmit ring kicked once per burst,
// PACKET_QDISC_BYPASS, and PACKET_FANOUT (flow hash) so several workers share
// one interface. Frames are copied between the kernel's rings and the
// worker's pool: the kernel already copied them once, AF_PACKET cannot avoid
// that.
#pragma once

#include <cstdint>
#include <string>

#include "io/port_queue.h"

struct tpacket_block_desc;

namespace nfvgw {

struct AfPacketQueueConfig {
  std::string where;  // "port p0 (eth1) worker 0", for errors
  int ifindex = 0;
  int fanout_group = 0;  // 0: no fanout (a single worker)
  uint32_t block_size = 1u << 18;
  uint32_t block_count = 64;  // 16 MiB: tens of ms of a 10 Gbit/s burst
  uint32_t tx_frames = 1024;
  uint64_t tx_drain_ns = 50000;
};

class AfPacketQueue final : public PortQueue {
 public:
  // Must run in the interface's network namespace. Throws Error(kPortOpen).
  AfPacketQueue(const QueueEnv& env, const AfPacketQueueConfig& cfg);
  ~AfPacketQueue() override;

  uint32_t rxBurst(Pkt* pkts, uint32_t max) override;
  void txBurst(TxFrame* frames, uint32_t n) override;
  void service() override;
  int pollFd() const override { return fd_; }
  bool txIdle() const override { return tx_unkicked_ == 0; }
  KernelQueueStats kernelStats() const override;

 private:
  tpacket_block_desc* block(uint32_t i) const;
  void releaseBlock();
  void kickTx();

  int fd_ = -1;
  uint8_t* map_ = nullptr;
  size_t map_len_ = 0;
  // receive ring
  uint32_t block_size_;
  uint32_t block_count_;
  uint32_t cur_block_ = 0;
  uint32_t pkts_left_ = 0;       // frames not yet taken from the current block
  uint8_t* next_pkt_ = nullptr;  // next frame header in the current block
  // transmit ring
  uint8_t* tx_ring_ = nullptr;
  uint32_t tx_frames_;
  uint32_t tx_head_ = 0;
  uint32_t tx_unkicked_ = 0;  // frames in the ring the kernel has not been told about
  uint64_t tx_waiting_since_ = 0;
  uint64_t tx_drain_ns_;
  // PACKET_STATISTICS resets on read, so the control thread accumulates.
  mutable uint64_t kernel_drops_ = 0;
};

}  // namespace nfvgw
