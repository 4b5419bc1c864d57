// A worker's packet buffers: fixed-size frames in one huge-page region that
// is also the AF_XDP UMEM of every AF_XDP socket the worker owns, so a frame
// received on one port is transmitted on another without a copy.
//
// Single-threaded by design (only the owning worker touches it): alloc and
// free are a LIFO stack of frame addresses, which also keeps recently used
// frames warm in the cache.
#pragma once

#include <cstdint>
#include <vector>

#include "core/hugemem.h"
#include "pkt/pkt.h"

// Under AddressSanitizer (the fuzzer, scripts/sanitize.sh) the pool tells
// ASan which frames are in use: the pool is one mapping, in which ASan
// would otherwise see no boundaries at all. A free frame is poisoned, so a
// stage touching a packet after dropping or sending it is reported; the
// in-memory port poisons what follows a received frame (MemQueue::rxBurst).
#if defined(__SANITIZE_ADDRESS__)
#define NFVGW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NFVGW_ASAN 1
#endif
#endif
#ifdef NFVGW_ASAN
#include <sanitizer/asan_interface.h>
#define NFVGW_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define NFVGW_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define NFVGW_POISON(p, n) ((void)(p), (void)(n))
#define NFVGW_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace nfvgw {

class FramePool {
 public:
  explicit FramePool(MemRegion region) : region_(std::move(region)) {
    uint32_t frames = uint32_t(region_.size() / kFrameSize);
    free_.reserve(frames);
    for (uint32_t i = frames; i-- > 0;) free_.push_back(uint64_t(i) * kFrameSize);
    capacity_ = frames;
    NFVGW_POISON(region_.data(), region_.size());
  }
  FramePool(FramePool&&) = default;
  FramePool& operator=(FramePool&&) = default;
  // The mapping goes: nothing of it may stay poisoned for whoever maps
  // those addresses next.
  ~FramePool() { NFVGW_UNPOISON(region_.data(), region_.size()); }

  uint8_t* base() const { return region_.data(); }
  size_t bytes() const { return region_.size(); }
  bool huge() const { return region_.huge(); }
  uint32_t capacity() const { return capacity_; }
  uint32_t available() const { return uint32_t(free_.size()); }

  // Returns a frame's base address, or false when the pool is empty.
  bool alloc(uint64_t* frame) {
    if (free_.empty()) return false;
    *frame = free_.back();
    free_.pop_back();
    NFVGW_UNPOISON(base() + *frame, kFrameSize);
    return true;
  }
  // Any address inside the frame may be given back.
  void free(uint64_t addr) {
    const uint64_t frame = addr & ~uint64_t(kFrameSize - 1);
    NFVGW_POISON(base() + frame, kFrameSize);
    free_.push_back(frame);
  }

  // A descriptor for a new, empty frame with the standard headroom.
  bool allocPkt(Pkt* p, uint16_t port) {
    uint64_t frame;
    if (!alloc(&frame)) return false;
    p->addr = frame + kFrameHeadroom;
    p->data = base() + p->addr;
    p->len = 0;
    p->port = port;
    p->l2_len = 14;
    p->l3_len = 0;
    p->vlan = 0;
    p->ethertype = 0;
    return true;
  }

 private:
  MemRegion region_;
  std::vector<uint64_t> free_;  // capacity reserved up front: push_back never allocates
  uint32_t capacity_ = 0;
};

}  // namespace nfvgw
