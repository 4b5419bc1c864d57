// The learned neighbor (ARP) table: (port, IPv4) -> MAC, shared by all
// workers and written by whichever worker sees the ARP packet.
//
// Lock-free and allocation-free: a fixed array of entries with linear
// probing. Entries are never removed, only refreshed, so a reader that
// finds an empty slot knows the key is absent. Concurrency:
//  - Creating an entry is a CAS of the key from 0; a loser of the race
//    finds the winner's key in that slot and uses the entry.
//  - The MAC and its valid bit are one 64-bit atomic, so a reader sees a
//    whole MAC or none; timestamps are separate relaxed atomics where a
//    slightly stale value is harmless.
//  - Sending ARP requests is throttled per entry by a CAS on requested_ns:
//    when several workers miss the same neighbor at once, one sends.
// Growth is bounded: only addresses on a connected subnet of the port are
// ever inserted, and a full table is a counted drop, not a failure.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

#include "core/flat_map.h"

namespace nfvgw {

// A neighbor configured by hand (snapshot tables, keyed like the learned ones).
struct StaticNeighbor {
  uint8_t mac[6];
};

class NeighborTable {
 public:
  struct Entry {
    std::atomic<uint64_t> key{0};           // 0: free
    std::atomic<uint64_t> mac{0};           // bit 63: resolved; bits 0..47: the MAC
    std::atomic<uint64_t> confirmed_ns{0};  // last ARP heard from it
    std::atomic<uint64_t> requested_ns{0};  // last ARP request we sent for it
  };
  static constexpr uint64_t kResolved = uint64_t(1) << 63;
  static constexpr uint32_t kMaxProbe = 32;

  // `capacity` is rounded up to a power of two.
  explicit NeighborTable(uint32_t capacity) {
    uint32_t cap = 64;
    while (cap < capacity) cap <<= 1;
    entries_.reset(new Entry[cap]);
    mask_ = cap - 1;
  }

  static uint64_t keyOf(uint16_t port, uint32_t ip) { return (uint64_t(1) << 63) | (uint64_t(port) << 32) | ip; }

  Entry* find(uint16_t port, uint32_t ip) const {
    uint64_t k = keyOf(port, ip);
    size_t i = hash64(k) & mask_;
    for (uint32_t probe = 0; probe < kMaxProbe; ++probe, i = (i + 1) & mask_) {
      uint64_t cur = entries_[i].key.load(std::memory_order_acquire);
      if (cur == k) return &entries_[i];
      if (cur == 0) return nullptr;
    }
    return nullptr;
  }

  // Finds or creates the entry; nullptr when the probe window is full.
  Entry* findOrCreate(uint16_t port, uint32_t ip) {
    uint64_t k = keyOf(port, ip);
    size_t i = hash64(k) & mask_;
    for (uint32_t probe = 0; probe < kMaxProbe; ++probe, i = (i + 1) & mask_) {
      uint64_t cur = entries_[i].key.load(std::memory_order_acquire);
      if (cur == k) return &entries_[i];
      if (cur == 0) {
        if (entries_[i].key.compare_exchange_strong(cur, k, std::memory_order_acq_rel)) {
          created_.fetch_add(1, std::memory_order_relaxed);
          return &entries_[i];
        }
        if (cur == k) return &entries_[i];
      }
    }
    return nullptr;
  }

  static uint64_t packMac(const uint8_t* m) {
    uint64_t v = 0;
    std::memcpy(&v, m, 6);
    return v | kResolved;
  }
  static void unpackMac(uint64_t v, uint8_t* m) { std::memcpy(m, &v, 6); }

  // Records a MAC heard for the entry; returns true when it is new or changed.
  bool learn(Entry* e, const uint8_t* mac, uint64_t now) {
    uint64_t v = packMac(mac);
    uint64_t old = e->mac.exchange(v, std::memory_order_acq_rel);
    e->confirmed_ns.store(now, std::memory_order_relaxed);
    if (!(old & kResolved)) resolved_.fetch_add(1, std::memory_order_relaxed);
    return old != v;
  }

  // Entries never go away or back to unresolved, so two counters kept on
  // the rare paths (creation, first answer) give the state counts.
  uint32_t created() const { return created_.load(std::memory_order_relaxed); }
  uint32_t resolved() const { return resolved_.load(std::memory_order_relaxed); }

  // True for the one caller that should send an ARP request now.
  static bool claimRequest(Entry* e, uint64_t now, uint64_t interval) {
    uint64_t last = e->requested_ns.load(std::memory_order_relaxed);
    if (last != 0 && now - last < interval) return false;
    return e->requested_ns.compare_exchange_strong(last, now, std::memory_order_relaxed);
  }

  uint32_t capacity() const { return mask_ + 1; }
  const Entry& at(uint32_t i) const { return entries_[i]; }

 private:
  std::unique_ptr<Entry[]> entries_;
  uint32_t mask_;
  std::atomic<uint32_t> created_{0};
  std::atomic<uint32_t> resolved_{0};
};

}  // namespace nfvgw
