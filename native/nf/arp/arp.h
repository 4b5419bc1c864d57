// ARP: answering for the gateway's addresses, learning neighbors, and
// resolving next hops (with throttled requests).
#pragma once

#include <cstdint>
#include <cstring>

#include "core/drops.h"
#include "dataplane/l3_ctx.h"

namespace nfvgw {

// Handles an ARP frame received on p.port: replies to requests for the
// port's own addresses (only on that port, like arp_ignore=1), learns the
// sender when the request was for us or the sender is already known, and
// consumes or drops the frame.
void arpInput(L3Ctx& c, Pkt& p);

// Writes the MAC of next hop `ip` on `port` to `mac` and returns true, or
// returns false with the drop reason in `why` when it is not resolved yet (a
// request has been sent, at most one per neighbor per retry interval). A
// static neighbor from the snapshot wins over a learned one; a learned entry
// older than the reachable time is refreshed while still being used.
bool neighborLookup(L3Ctx& c, uint16_t port, uint32_t ip, uint8_t* mac, Drop* why);

// The MAC of an adjacency resolved when the snapshot was built (a router
// next hop, a hypervisor on the underlay) when it is known and fresh: its
// static MAC, or its learned entry within the reachable time. Inline, no
// side effects.
__attribute__((always_inline)) inline bool freshMac(const L3Ctx& c, bool has_static, const uint8_t* static_mac,
                                                    const NeighborTable::Entry* e, uint8_t* mac) {
  if (has_static) {
    std::memcpy(mac, static_mac, 6);
    return true;
  }
  if (e) {
    uint64_t v = e->mac.load(std::memory_order_acquire);
    uint64_t age = c.w.now_ns - e->confirmed_ns.load(std::memory_order_relaxed);
    if ((v & NeighborTable::kResolved) && age < c.s.neighbor.reachable_ns) {
      NeighborTable::unpackMac(v, mac);
      return true;
    }
  }
  return false;
}

// The MAC of a router next hop when it is known and fresh.
inline bool nextHopKnown(const L3Ctx& c, const NextHop& nh, uint8_t* mac) {
  return freshMac(c, nh.has_static_mac, nh.static_mac, nh.neighbor, mac);
}

// neighborLookup() for a router next hop, using what the snapshot resolved
// for it (no hash lookup when it has an entry).
bool nextHopLookup(L3Ctx& c, const NextHop& nh, uint8_t* mac, Drop* why);

// A learned or static MAC for the neighbor, without sending anything.
bool neighborKnown(L3Ctx& c, uint16_t port, uint32_t ip, uint8_t* mac);

}  // namespace nfvgw
