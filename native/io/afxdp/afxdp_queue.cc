// AF_XDP socket queues; see afxdp_queue.h.
//
// Two libxdp 1.3 pitfalls shape this file:
//  - xsk_umem__create leaves fields of the ring structs it is given unset:
//    every xsk_ring_* here is value-initialised, or the completion ring
//    reports completions that never happened.
//  - when xsk_socket__create_shared fails it unmaps the UMEM's own fill and
//    completion rings if the caller passed different ring structs, so a
//    retry (zero-copy, then copy) on the same UMEM writes into dead
//    mappings. Zero-copy support is therefore probed with a throwaway socket
//    first, and the real sockets are created once, in the mode that works.
#include "io/afxdp/afxdp_queue.h"

#include <linux/if_xdp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/error.h"
#include "io/afxdp/xdp_program.h"

namespace nfvgw {

XskUmem::XskUmem(FramePool* pool, uint32_t ring_size) : ring_size_(ring_size) {
  xsk_umem_config cfg{};
  cfg.fill_size = ring_size;
  cfg.comp_size = ring_size;
  cfg.frame_size = kFrameSize;
  cfg.frame_headroom = 0;
  cfg.flags = 0;
  int e = xsk_umem__create(&umem_, pool->base(), pool->bytes(), &fill_, &comp_, &cfg);
  if (e) throw Error(err::kPortOpen, "AF_XDP UMEM registration of " + std::to_string(pool->bytes()) + " bytes", -e);
}

XskUmem::~XskUmem() {
  if (umem_) xsk_umem__delete(umem_);
}

AfXdpQueue::AfXdpQueue(const QueueEnv& env, std::shared_ptr<XskUmem> umem, const AfXdpQueueConfig& cfg)
    : PortQueue(env), umem_(std::move(umem)), fill_size_(umem_->ringSize()), tx_drain_ns_(cfg.tx_drain_ns) {
  xsk_socket_config sc{};
  sc.rx_size = cfg.ring_size;
  sc.tx_size = cfg.ring_size;
  sc.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
  sc.bind_flags = XDP_USE_NEED_WAKEUP | (cfg.zero_copy ? XDP_ZEROCOPY : XDP_COPY);
  int e =
      xsk_socket__create_shared(&xsk_, cfg.ifname.c_str(), cfg.queue_id, umem_->get(), &rx_, &tx_, &fill_, &comp_, &sc);
  if (e) {
    xsk_ = nullptr;
    throw Error(err::kPortOpen,
                cfg.where + ": AF_XDP socket (" + (cfg.zero_copy ? "zero-copy" : "copy") + " mode) failed", -e);
  }
  fd_ = xsk_socket__fd(xsk_);
  e = xsk_socket__update_xskmap(xsk_, cfg.xsks_map_fd);
  if (e) {
    xsk_socket__delete(xsk_);
    xsk_ = nullptr;
    throw Error(err::kPortOpen, cfg.where + ": cannot add the socket to the XDP program's xsks_map", -e);
  }
  refill();
}

AfXdpQueue::~AfXdpQueue() {
  if (xsk_) xsk_socket__delete(xsk_);
  // Frames still in the rings belonged to the kernel; the pool is going away
  // with the worker, so there is nothing to return them to.
}

void AfXdpQueue::refill() {
  FramePool& pool = *env_.pool;
  uint32_t want = fill_size_ - fill_outstanding_;
  if (want < 16) return;  // refill in batches
  if (want > pool.available()) want = pool.available();
  if (want == 0) return;
  uint32_t idx;
  uint32_t got = xsk_ring_prod__reserve(&fill_, want, &idx);
  for (uint32_t i = 0; i < got; ++i) {
    uint64_t frame = 0;
    pool.alloc(&frame);  // cannot fail: `want` is bounded by what the pool has
    *xsk_ring_prod__fill_addr(&fill_, idx + i) = frame;
  }
  xsk_ring_prod__submit(&fill_, got);
  fill_outstanding_ += got;
  if (xsk_ring_prod__needs_wakeup(&fill_)) recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
}

uint32_t AfXdpQueue::rxBurst(Pkt* pkts, uint32_t max) {
  uint32_t idx;
  uint32_t n = xsk_ring_cons__peek(&rx_, max, &idx);
  if (n == 0) {
    if (xsk_ring_prod__needs_wakeup(&fill_)) recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    return 0;
  }
  uint8_t* base = env_.pool->base();
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&rx_, idx + i);
    Pkt& p = pkts[i];
    p.addr = d->addr;
    p.data = base + d->addr;
    p.len = d->len;
    p.port = env_.port;
    bytes += d->len;
  }
  xsk_ring_cons__release(&rx_, n);
  fill_outstanding_ -= n;
  stats.rx_packets.add(n);
  stats.rx_bytes.add(bytes);
  refill();
  return n;
}

void AfXdpQueue::reapCompletions() {
  if (tx_outstanding_ == 0) return;
  uint32_t idx;
  uint32_t n = xsk_ring_cons__peek(&comp_, fill_size_, &idx);
  if (n == 0) return;
  FramePool& pool = *env_.pool;
  for (uint32_t i = 0; i < n; ++i) pool.free(*xsk_ring_cons__comp_addr(&comp_, idx + i));
  xsk_ring_cons__release(&comp_, n);
  tx_outstanding_ -= n;
}

void AfXdpQueue::kickTx() {
  tx_waiting_since_ = *env_.now_ns;
  if (!xsk_ring_prod__needs_wakeup(&tx_)) return;
  // EAGAIN/EBUSY/ENOBUFS mean "try again later": the next service() will.
  sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0);
}

void AfXdpQueue::txBurst(TxFrame* frames, uint32_t n) {
  reapCompletions();
  uint32_t room = xsk_prod_nb_free(&tx_, n);
  uint32_t r = n < room ? n : room;
  uint32_t idx = 0;
  if (r) r = xsk_ring_prod__reserve(&tx_, r, &idx);
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < r; ++i) {
    xdp_desc* d = xsk_ring_prod__tx_desc(&tx_, idx + i);
    d->addr = frames[i].addr;
    d->len = frames[i].len;
    d->options = 0;
    bytes += frames[i].len;
  }
  if (r) {
    xsk_ring_prod__submit(&tx_, r);
    if (tx_outstanding_ == 0) tx_waiting_since_ = *env_.now_ns;
    tx_outstanding_ += r;
    stats.tx_packets.add(r);
    stats.tx_bytes.add(bytes);
    if (tx_outstanding_ >= kTxKickBatch) kickTx();
  }
  for (uint32_t i = r; i < n; ++i) {
    env_.stats->drop(Drop::tx_ring_full);
    stats.tx_dropped.add();
    env_.pool->free(frames[i].addr);
  }
}

void AfXdpQueue::service() {
  reapCompletions();
  // Kick when a batch is full or the oldest waiting frame has waited long
  // enough; in copy mode one sendto() transmits a bounded batch, so frames
  // still waiting after a kick get another.
  if (tx_outstanding_ && (tx_outstanding_ >= kTxKickBatch || *env_.now_ns - tx_waiting_since_ >= tx_drain_ns_))
    kickTx();
  refill();
}

KernelQueueStats AfXdpQueue::kernelStats() const {
  KernelQueueStats ks;
  xdp_statistics st{};
  socklen_t len = sizeof(st);
  if (getsockopt(fd_, SOL_XDP, XDP_STATISTICS, &st, &len) == 0) {
    ks.rx_dropped = st.rx_dropped + st.rx_ring_full;
    ks.rx_fill_empty = st.rx_fill_ring_empty_descs;
    ks.rx_invalid = st.rx_invalid_descs;
    ks.tx_invalid = st.tx_invalid_descs;
  }
  return ks;
}

bool AfXdpQueue::probeZeroCopy(const std::string& ifname, uint32_t queue) {
  constexpr uint32_t kFrames = 64;
  size_t bytes = size_t(kFrames) * 4096;
  void* area = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return false;
  xsk_umem* umem = nullptr;
  xsk_ring_prod fill{};
  xsk_ring_cons comp{};
  xsk_umem_config uc{};
  uc.fill_size = kFrames;
  uc.comp_size = kFrames;
  uc.frame_size = 4096;
  bool ok = false;
  if (xsk_umem__create(&umem, area, bytes, &fill, &comp, &uc) == 0) {
    xsk_socket* xsk = nullptr;
    xsk_ring_cons rx{};
    xsk_ring_prod tx{};
    xsk_socket_config sc{};
    sc.rx_size = kFrames;
    sc.tx_size = kFrames;
    sc.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
    sc.bind_flags = XDP_ZEROCOPY;
    if (xsk_socket__create(&xsk, ifname.c_str(), queue, umem, &rx, &tx, &sc) == 0) {
      ok = true;
      xsk_socket__delete(xsk);
    }
    xsk_umem__delete(umem);
  }
  munmap(area, bytes);
  return ok;
}

}  // namespace nfvgw
