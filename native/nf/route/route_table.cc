// Checking and building a route table; see route_table.h.
#include "nf/route/route_table.h"

#include <string>

#include "core/error.h"

namespace nfvgw {

void RouteTable::build(std::vector<NextHop> nexthops, const std::vector<Route>& routes, size_t port_count) {
  if (nexthops.empty() || nexthops[0].kind != NhKind::kNoRoute)
    throw Error(err::kSnapshot, "next hop 0 must be the no-route entry");
  for (size_t i = 0; i < nexthops.size(); ++i) {
    const NextHop& nh = nexthops[i];
    bool needs_port = nh.kind == NhKind::kConnected || nh.kind == NhKind::kVia || nh.kind == NhKind::kLocal;
    if (needs_port && nh.port >= port_count)
      throw Error(err::kSnapshot, "next hop " + std::to_string(i) + " names port " + std::to_string(nh.port) + " of " +
                                      std::to_string(port_count));
  }
  std::vector<Lpm4::Route> lpm;
  lpm.reserve(routes.size());
  for (size_t i = 0; i < routes.size(); ++i) {
    const Route& r = routes[i];
    if (r.len > 32) throw Error(err::kSnapshot, "route " + std::to_string(i) + " has prefix length > 32");
    if (r.nexthop >= nexthops.size())
      throw Error(err::kSnapshot, "route " + std::to_string(i) + " names next hop " + std::to_string(r.nexthop) +
                                      " of " + std::to_string(nexthops.size()));
    lpm.push_back({r.prefix, r.len, r.nexthop});
  }
  lpm_.build(lpm, 0);
  nexthops_ = std::move(nexthops);
  route_count_ = routes.size();
}

}  // namespace nfvgw
