// Packets waiting for a next hop's ARP reply, per worker (like the kernel's
// unres_qlen): the first packets of a flow are not lost while the neighbor
// is resolved. Bounded: when it is full, or the neighbor does not answer
// within the retry interval, the packet is dropped as neighbor_unresolved.
#pragma once

#include <cstdint>

#include "pkt/pkt.h"

namespace nfvgw {

class NeighborWait {
 public:
  static constexpr uint32_t kCapacity = 64;

  struct Entry {
    Pkt pkt;
    uint64_t deadline_ns;
    uint32_t ip;     // the next hop
    uint16_t port;   // the output port
    bool forwarded;  // counts as ip4_forwarded once sent
  };

  bool hold(const Pkt& p, uint16_t port, uint32_t ip, uint64_t deadline_ns, bool forwarded) {
    if (n_ == kCapacity) return false;
    entries_[n_++] = {p, deadline_ns, ip, port, forwarded};
    return true;
  }

  bool empty() const { return n_ == 0; }

  // Calls fn(entry) for each entry; an entry for which fn returns true is
  // removed (fn sent or dropped it).
  template <class Fn>
  void drain(Fn&& fn) {
    for (uint32_t i = 0; i < n_;) {
      if (fn(entries_[i])) {
        entries_[i] = entries_[--n_];
      } else {
        ++i;
      }
    }
  }

 private:
  Entry entries_[kCapacity];
  uint32_t n_ = 0;
};

}  // namespace nfvgw
