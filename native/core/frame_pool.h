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

namespace nfvgw {

class FramePool {
 public:
  explicit FramePool(MemRegion region) : region_(std::move(region)) {
    uint32_t frames = uint32_t(region_.size() / kFrameSize);
    free_.reserve(frames);
    for (uint32_t i = frames; i-- > 0;) free_.push_back(uint64_t(i) * kFrameSize);
    capacity_ = frames;
  }

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
    return true;
  }
  // Any address inside the frame may be given back.
  void free(uint64_t addr) { free_.push_back(addr & ~uint64_t(kFrameSize - 1)); }

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
