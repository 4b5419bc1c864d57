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

template <class V>
class FlatMap64 {
 public:
  // Key 0 is reserved for empty slots. Later duplicates win.
  void build(const std::vector<std::pair<uint64_t, V>>& items) {
    size_t cap = 8;
    while (cap < items.size() * 2) cap <<= 1;
    keys_.assign(cap, 0);
    values_.assign(cap, V{});
    mask_ = cap - 1;
    for (const auto& [k, v] : items) {
      size_t i = hash64(k) & mask_;
      while (keys_[i] != 0 && keys_[i] != k) i = (i + 1) & mask_;
      keys_[i] = k;
      values_[i] = v;
    }
    size_ = items.size();
  }

  const V* find(uint64_t k) const {
    if (size_ == 0) return nullptr;
    for (size_t i = hash64(k) & mask_;; i = (i + 1) & mask_) {
      if (keys_[i] == k) return &values_[i];
      if (keys_[i] == 0) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  std::vector<uint64_t> keys_;
  std::vector<V> values_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace nfvgw
