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

// The MAC of a router next hop when it is known and fresh (a static MAC, or
// a learned entry within its reachable time): inline, no side effects.
inline bool nextHopKnown(const L3Ctx& c, const NextHop& nh, uint8_t* mac) {
  if (nh.has_static_mac) {
    std::memcpy(mac, nh.static_mac, 6);
    return true;
  }
  if (const NeighborTable::Entry* e = nh.neighbor) {
    uint64_t v = e->mac.load(std::memory_order_acquire);
    uint64_t age = c.w.now_ns - e->confirmed_ns.load(std::memory_order_relaxed);
    if ((v & NeighborTable::kResolved) && age < c.s.neighbor.reachable_ns) {
      NeighborTable::unpackMac(v, mac);
      return true;
    }
  }
  return false;
}

// neighborLookup() for a router next hop, using what the snapshot resolved
// for it (no hash lookup when it has an entry).
bool nextHopLookup(L3Ctx& c, const NextHop& nh, uint8_t* mac, Drop* why);

// A learned or static MAC for the neighbor, without sending anything.
bool neighborKnown(L3Ctx& c, uint16_t port, uint32_t ip, uint8_t* mac);

}  // namespace nfvgw
