// AF_PACKET TPACKET_V3 queues; see afpacket_queue.h.
#include "io/afpacket/afpacket_queue.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "core/error.h"
#include "pkt/headers.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

namespace nfvgw {

namespace {

constexpr uint32_t kSlotSize = 2048;
// Where frame data starts in a TX ring slot (packet_mmap.rst: the header,
// aligned, minus the sockaddr_ll the kernel does not need for TX).
constexpr uint32_t kTxDataOffset = TPACKET_ALIGN(sizeof(tpacket3_hdr));

}  // namespace

AfPacketQueue::AfPacketQueue(const QueueEnv& env, const AfPacketQueueConfig& cfg)
    : PortQueue(env),
      block_size_(cfg.block_size),
      block_count_(cfg.block_count),
      tx_frames_(cfg.tx_frames),
      tx_drain_ns_(cfg.tx_drain_ns) {
  auto fail = [&](const std::string& what) {
    int e = errno;
    if (map_) munmap(map_, map_len_);
    if (fd_ >= 0) close(fd_);
    map_ = nullptr;
    fd_ = -1;
    throw Error(err::kPortOpen, cfg.where + ": " + what, e);
  };
  fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd_ < 0) fail("AF_PACKET socket");
  int v = TPACKET_V3;
  if (setsockopt(fd_, SOL_PACKET, PACKET_VERSION, &v, sizeof(v))) fail("PACKET_VERSION TPACKET_V3");

  tpacket_req3 rx{};
  rx.tp_block_size = block_size_;
  rx.tp_block_nr = block_count_;
  rx.tp_frame_size = kSlotSize;
  rx.tp_frame_nr = block_size_ / kSlotSize * block_count_;
  rx.tp_retire_blk_tov = 1;  // ms: hand over a partly filled block quickly when traffic is light
  if (setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &rx, sizeof(rx))) fail("PACKET_RX_RING");

  tpacket_req3 tx{};
  tx.tp_block_size = block_size_;
  tx.tp_frame_size = kSlotSize;
  tx.tp_block_nr = (tx_frames_ * kSlotSize + block_size_ - 1) / block_size_;
  tx.tp_frame_nr = tx.tp_block_nr * (block_size_ / kSlotSize);
  tx_frames_ = tx.tp_frame_nr;
  if (setsockopt(fd_, SOL_PACKET, PACKET_TX_RING, &tx, sizeof(tx))) fail("PACKET_TX_RING");

  map_len_ = size_t(block_size_) * block_count_ + size_t(tx.tp_block_size) * tx.tp_block_nr;
  void* m = mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, 0);
  if (m == MAP_FAILED) fail("mmap of the packet rings");
  map_ = static_cast<uint8_t*>(m);
  tx_ring_ = map_ + size_t(block_size_) * block_count_;

  int one = 1;
  if (setsockopt(fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one))) fail("PACKET_QDISC_BYPASS");
  // Our own transmissions must not come back as receptions (kernel >= 4.20).
  setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));

  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = cfg.ifindex;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof(sll))) fail("bind to the interface");
  if (cfg.fanout_group) {
    int arg = (cfg.fanout_group & 0xffff) | (PACKET_FANOUT_HASH << 16);
    if (setsockopt(fd_, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg))) fail("PACKET_FANOUT");
  }
}

AfPacketQueue::~AfPacketQueue() {
  if (map_) munmap(map_, map_len_);
  if (fd_ >= 0) close(fd_);
}

tpacket_block_desc* AfPacketQueue::block(uint32_t i) const {
  return reinterpret_cast<tpacket_block_desc*>(map_ + size_t(i) * block_size_);
}

void AfPacketQueue::releaseBlock() {
  __atomic_store_n(&block(cur_block_)->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  cur_block_ = (cur_block_ + 1) % block_count_;
  next_pkt_ = nullptr;
}

uint32_t AfPacketQueue::rxBurst(Pkt* pkts, uint32_t max) {
  FramePool& pool = *env_.pool;
  uint32_t n = 0;
  uint64_t bytes = 0;
  while (n < max) {
    if (!next_pkt_) {
      tpacket_block_desc* b = block(cur_block_);
      if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) break;
      pkts_left_ = b->hdr.bh1.num_pkts;
      next_pkt_ = reinterpret_cast<uint8_t*>(b) + b->hdr.bh1.offset_to_first_pkt;
      if (pkts_left_ == 0) {
        releaseBlock();
        continue;
      }
    }
    const tpacket3_hdr* h = reinterpret_cast<const tpacket3_hdr*>(next_pkt_);
    const uint8_t* frame = next_pkt_ + h->tp_mac;
    uint32_t len = h->tp_snaplen;
    bool vlan = (h->tp_status & TP_STATUS_VLAN_VALID) != 0;
    uint32_t need = len + (vlan ? 4 : 0);
    Pkt& p = pkts[n];
    if (h->tp_len != h->tp_snaplen || need > kFrameDataMax) {
      env_.stats->drop(Drop::rx_truncated);
    } else if (!pool.allocPkt(&p, env_.port)) {
      env_.stats->drop(Drop::rx_no_buffer);
    } else if (vlan && len >= 12) {
      // The kernel took the 802.1Q tag out of the frame; put it back so the
      // parser sees what was on the wire.
      std::memcpy(p.data, frame, 12);
      uint16_t tpid = h->hv1.tp_vlan_tpid ? h->hv1.tp_vlan_tpid : kEthP_Vlan;
      uint16_t tag[2] = {be16(tpid), be16(uint16_t(h->hv1.tp_vlan_tci))};
      std::memcpy(p.data + 12, tag, 4);
      std::memcpy(p.data + 16, frame + 12, len - 12);
      p.len = need;
      bytes += need;
      ++n;
    } else {
      std::memcpy(p.data, frame, len);
      p.len = len;
      bytes += len;
      ++n;
    }
    if (--pkts_left_ == 0) {
      releaseBlock();
    } else {
      next_pkt_ += h->tp_next_offset;
    }
  }
  stats.rx_packets.add(n);
  stats.rx_bytes.add(bytes);
  return n;
}

void AfPacketQueue::txBurst(TxFrame* frames, uint32_t n) {
  FramePool& pool = *env_.pool;
  uint32_t sent = 0;
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < n; ++i) {
    TxFrame& p = frames[i];
    uint8_t* slot = tx_ring_ + size_t(tx_head_) * kSlotSize;
    tpacket3_hdr* h = reinterpret_cast<tpacket3_hdr*>(slot);
    uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
    if (status == TP_STATUS_WRONG_FORMAT) {
      env_.stats->drop(Drop::tx_error);  // a frame the kernel refused earlier
      status = TP_STATUS_AVAILABLE;
    }
    if (status != TP_STATUS_AVAILABLE || p.len > kSlotSize - kTxDataOffset) {
      env_.stats->drop(status != TP_STATUS_AVAILABLE ? Drop::tx_ring_full : Drop::tx_error);
      stats.tx_dropped.add();
      pool.free(p.addr);
      continue;
    }
    std::memcpy(slot + kTxDataOffset, p.data, p.len);
    h->tp_len = p.len;
    h->tp_snaplen = p.len;
    h->tp_next_offset = 0;
    __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
    tx_head_ = (tx_head_ + 1) % tx_frames_;
    ++sent;
    bytes += p.len;
    pool.free(p.addr);
  }
  if (sent) {
    if (tx_unkicked_ == 0) tx_waiting_since_ = *env_.now_ns;
    tx_unkicked_ += sent;
    stats.tx_packets.add(sent);
    stats.tx_bytes.add(bytes);
    if (tx_unkicked_ >= kTxKickBatch) kickTx();
  }
}

void AfPacketQueue::kickTx() {
  // With MSG_DONTWAIT the kernel sends everything queued and returns.
  // Failures show up as slots that do not come back (counted on reuse).
  send(fd_, nullptr, 0, MSG_DONTWAIT);
  tx_unkicked_ = 0;
}

void AfPacketQueue::service() {
  if (tx_unkicked_ && *env_.now_ns - tx_waiting_since_ >= tx_drain_ns_) kickTx();
}

KernelQueueStats AfPacketQueue::kernelStats() const {
  tpacket_stats_v3 st{};
  socklen_t len = sizeof(st);
  if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) kernel_drops_ += st.tp_drops;
  KernelQueueStats ks;
  ks.rx_dropped = kernel_drops_;
  return ks;
}

}  // namespace nfvgw
