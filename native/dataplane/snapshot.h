// A configuration snapshot: every table the pipeline reads, immutable once
// published. The control plane builds a new one off the fast path and swaps
// it in with one atomic store (see core/qsbr.h for when the old one is
// freed). Mutable state (the learned neighbors) lives outside, in the
// Dataplane.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/flat_map.h"
#include "nf/arp/neighbor_table.h"
#include "nf/conntrack/conntrack.h"
#include "nf/lb/lb_tables.h"
#include "nf/route/route_table.h"
#include "nf/vpc/vpc_tables.h"

namespace nfvgw {

struct IfAddr {
  uint32_t ip;   // host order
  uint8_t plen;  // prefix length of the connected subnet
  bool contains(uint32_t a) const {
    uint32_t mask = plen == 0 ? 0 : ~uint32_t(0) << (32 - plen);
    return (a & mask) == (ip & mask);
  }
};

// Layer 2/3 facts of a port as the pipeline needs them.
struct PortL3 {
  uint8_t mac[6] = {};
  uint16_t vlan = 0;  // 802.1Q id expected on and added to frames; 0 = untagged
  uint32_t mtu = 1500;
  uint32_t max_frame = 0;  // longest acceptable frame: MTU + Ethernet header (+ tag)
  std::vector<IfAddr> addrs;

  // The address to speak from towards `dst`: one on dst's subnet if any,
  // else the first; 0 when the port has none.
  uint32_t sourceFor(uint32_t dst) const {
    for (const IfAddr& a : addrs)
      if (a.contains(dst)) return a.ip;
    return addrs.empty() ? 0 : addrs[0].ip;
  }
};

struct NeighborSettings {
  uint64_t reachable_ns = 30'000'000'000ull;  // after this, refresh with an ARP request
  uint64_t expire_ns = 90'000'000'000ull;     // after this without an answer, treat as unresolved
  uint64_t retry_ns = 1'000'000'000ull;       // at most one request per neighbor per interval
};

struct IcmpSettings {
  uint32_t errors_per_sec = 1000;  // per worker, like net.ipv4.icmp_msgs_per_sec
  uint32_t burst = 50;
};

struct Snapshot {
  uint64_t generation = 0;
  std::vector<PortL3> ports;
  RouteTable routes;
  FlatMap64<StaticNeighbor> static_neighbors;  // key: NeighborTable::keyOf(port, ip)
  NeighborSettings neighbor;
  IcmpSettings icmp;
  ConnSettings conntrack;
  OverlayTables overlay;  // enabled when the configuration has VPCs
  LbTables lb;
};

// What the control plane hands over (converted from JS on the JS thread);
// buildSnapshot() turns it into tables on a background thread.
struct SnapshotSpec {
  struct Port {
    uint32_t mtu = 0;  // 0: the interface's
    uint16_t vlan = 0;
    std::vector<IfAddr> addrs;
  };
  struct Neighbor {
    uint16_t port;
    uint32_t ip;
    uint8_t mac[6];
  };
  uint64_t generation = 0;
  std::vector<Port> ports;
  std::vector<NextHop> nexthops;
  std::vector<RouteTable::Route> routes;
  std::vector<Neighbor> neighbors;
  NeighborSettings neighbor;
  IcmpSettings icmp;
  ConnSettings conntrack;
  std::optional<OverlaySpec> overlay;
  LbSpec lb;
};

// What a snapshot takes from the opened ports.
struct PortIdentity {
  std::string name;
  uint8_t mac[6];
  uint32_t mtu;  // the interface's
};

// Throws Error(kSnapshot) when the spec does not fit the ports. Next hops
// through routers get their entries in `neighbors` (created if new), which
// is safe while workers run.
std::unique_ptr<Snapshot> buildSnapshot(SnapshotSpec spec, const std::vector<PortIdentity>& ports,
                                        NeighborTable* neighbors);

}  // namespace nfvgw
