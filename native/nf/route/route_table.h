// The IPv4 route table of a snapshot: a poptrie from prefixes to next-hop
// indexes, and the next hops themselves. The control plane compiles the
// desired state into this shape (connected and local routes included), so
// one lookup tells the pipeline whether a packet is for the gateway, for a
// host on a connected subnet, for a next-hop router, or to be dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nf/arp/neighbor_table.h"
#include "nf/route/lpm4.h"

namespace nfvgw {

enum class NhKind : uint8_t {
  kNoRoute = 0,   // nothing matched (next hop 0 is always this)
  kLocal,         // an address of the gateway itself
  kConnected,     // a host on a subnet of `port`: the destination is the next hop
  kVia,           // through the router at `gateway` on `port`
  kBlackhole,     // silently dropped
  kUnreachable,   // dropped with ICMP host unreachable
  kLoadBalancer,  // a VIP or a fullnat local address of the load balancer (nf/lb)
};

struct NextHop {
  NhKind kind = NhKind::kNoRoute;
  uint16_t port = 0;
  uint32_t gateway = 0;  // kVia: the router's address (host order)
  uint32_t bcast = 0;    // kConnected: the subnet's broadcast address, never forwarded
  // kVia: the router's link-layer address, found when the snapshot is built
  // (VPP's adjacency): a static MAC, or the learned neighbor entry (entries
  // never move), so forwarding through a router needs no hash lookup.
  bool has_static_mac = false;
  uint8_t static_mac[6] = {};
  NeighborTable::Entry* neighbor = nullptr;
};

class RouteTable {
 public:
  struct Route {
    uint32_t prefix;
    uint8_t len;
    uint32_t nexthop;  // index into the next-hop list
  };

  // Throws Error(kSnapshot) when a route names a next hop that does not
  // exist, a next hop names a port that does not exist, or next hop 0 is not
  // kNoRoute.
  void build(std::vector<NextHop> nexthops, const std::vector<Route>& routes, size_t port_count);

  const NextHop& lookup(uint32_t dst) const { return nexthops_[lpm_.lookup(dst)]; }
  uint32_t lookupIndex(uint32_t dst) const { return lpm_.lookup(dst); }
  const std::vector<NextHop>& nexthops() const { return nexthops_; }
  size_t routeCount() const { return route_count_; }
  size_t memoryBytes() const { return lpm_.memoryBytes(); }

 private:
  Lpm4 lpm_;
  std::vector<NextHop> nexthops_{NextHop{}};
  size_t route_count_ = 0;
};

}  // namespace nfvgw
