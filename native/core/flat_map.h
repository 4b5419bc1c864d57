// An immutable hash map from 64-bit keys to small values, for snapshot
// tables: built once off the fast path, then read by every worker without
// synchronisation. Open addressing with linear probing at load <= 1/2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nfvgw {

inline uint64_t hash64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

// Each slot holds a key and its value side by side (one cache line for
// both); the slot is the top bits of a multiplicative (Fibonacci) hash, one
// multiply: the keys here are structured (port, VPC, address) and spread
// well that way, and a lookup sits on the fast path several times per
// packet. An empty map has two empty slots, so a lookup needs no test of
// its size.
template <class V>
class FlatMap64 {
 public:
  FlatMap64() : slots_(2) {}

  // Key 0 is reserved for empty slots. Later duplicates win.
  void build(const std::vector<std::pair<uint64_t, V>>& items) {
    size_t cap = 2;
    unsigned bits = 1;
    while (cap < items.size() * 2) {
      cap <<= 1;
      ++bits;
    }
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    shift_ = 64 - bits;
    for (const auto& [k, v] : items) {
      size_t i = slot(k);
      while (slots_[i].key != 0 && slots_[i].key != k) i = (i + 1) & mask_;
      slots_[i] = {k, v};
    }
    size_ = items.size();
  }

  __attribute__((always_inline)) const V* find(uint64_t k) const {
    const Slot* s = slots_.data();
    for (size_t i = slot(k);; i = (i + 1) & mask_) {
      if (s[i].key == k) return &s[i].value;
      if (s[i].key == 0) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t key = 0;
    V value{};
  };
  size_t slot(uint64_t k) const { return size_t((k * 0x9e3779b97f4a7c15ull) >> shift_); }

  std::vector<Slot> slots_;
  size_t mask_ = 1;
  unsigned shift_ = 63;
  size_t size_ = 0;
};

}  // namespace nfvgw
