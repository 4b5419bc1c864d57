// A single-producer single-consumer ring of fixed-size frame slots, in
// huge-page memory: how frames cross between the control thread and a worker
// for the in-memory port. Lock-free; each side owns one index and caches the
// other's.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

#include "core/hugemem.h"

namespace nfvgw {

class SlotRing {
 public:
  static constexpr uint32_t kSlotSize = 2048;
  static constexpr uint32_t kSlotData = kSlotSize - 4;

  // `slots` must be a power of two.
  SlotRing(MemRegion mem, uint32_t slots) : mem_(std::move(mem)), mask_(slots - 1) {}

  static size_t bytesFor(uint32_t slots) { return size_t(slots) * kSlotSize; }
  uint32_t capacity() const { return mask_ + 1; }

  // Producer: copies one frame in; false when the ring is full or the frame
  // does not fit a slot.
  bool push(const uint8_t* data, uint32_t len) {
    if (len > kSlotData) return false;
    uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_cache_ > mask_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head - tail_cache_ > mask_) return false;
    }
    uint8_t* slot = slotAt(head);
    std::memcpy(slot, &len, 4);
    std::memcpy(slot + 4, data, len);
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer: the next frame, or nullptr when empty. `pop()` releases it.
  const uint8_t* peek(uint32_t* len) {
    uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_cache_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail == head_cache_) return nullptr;
    }
    const uint8_t* slot = slotAt(tail);
    std::memcpy(len, slot, 4);
    return slot + 4;
  }
  void pop() { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  bool empty() const { return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire); }

 private:
  uint8_t* slotAt(uint64_t i) const { return mem_.data() + (i & mask_) * kSlotSize; }

  MemRegion mem_;
  uint32_t mask_;
  alignas(64) std::atomic<uint64_t> head_{0};  // producer
  uint64_t tail_cache_ = 0;
  alignas(64) std::atomic<uint64_t> tail_{0};  // consumer
  uint64_t head_cache_ = 0;
};

}  // namespace nfvgw
