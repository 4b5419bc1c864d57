// Building a snapshot from its spec; see snapshot.h.
#include "dataplane/snapshot.h"

#include <algorithm>

#include "core/error.h"
#include "nf/arp/neighbor_table.h"
#include "pkt/pkt.h"

namespace nfvgw {

std::unique_ptr<Snapshot> buildSnapshot(SnapshotSpec spec, const std::vector<PortIdentity>& ports,
                                        NeighborTable* neighbors) {
  if (spec.ports.size() != ports.size())
    throw Error(err::kSnapshot, "snapshot describes " + std::to_string(spec.ports.size()) + " ports, the gateway has " +
                                    std::to_string(ports.size()));
  auto s = std::make_unique<Snapshot>();
  s->generation = spec.generation;
  s->ports.resize(ports.size());
  for (size_t i = 0; i < ports.size(); ++i) {
    PortL3& p = s->ports[i];
    const SnapshotSpec::Port& sp = spec.ports[i];
    std::copy(ports[i].mac, ports[i].mac + 6, p.mac);
    p.vlan = sp.vlan;
    p.mtu = sp.mtu ? sp.mtu : ports[i].mtu;
    if (p.vlan > 4094) throw Error(err::kSnapshot, "port " + ports[i].name + ": VLAN id above 4094");
    p.max_frame = p.mtu + 14 + (p.vlan ? 4 : 0);
    if (p.max_frame > kFrameDataMax)
      throw Error(err::kSnapshot, "port " + ports[i].name + ": MTU " + std::to_string(p.mtu) + " does not fit the " +
                                      std::to_string(kFrameDataMax) + "-byte packet buffers");
    if (p.mtu < 68) throw Error(err::kSnapshot, "port " + ports[i].name + ": MTU below 68");
    p.addrs = std::move(sp.addrs);
  }
  std::vector<std::pair<uint64_t, StaticNeighbor>> neigh;
  neigh.reserve(spec.neighbors.size());
  for (const auto& n : spec.neighbors) {
    if (n.port >= ports.size()) throw Error(err::kSnapshot, "static neighbor on port index out of range");
    StaticNeighbor sn;
    std::copy(n.mac, n.mac + 6, sn.mac);
    neigh.emplace_back(NeighborTable::keyOf(n.port, n.ip), sn);
  }
  s->static_neighbors.build(neigh);
  for (NextHop& nh : spec.nexthops) {
    if (nh.kind != NhKind::kVia || nh.port >= ports.size()) continue;
    if (const StaticNeighbor* sn = s->static_neighbors.find(NeighborTable::keyOf(nh.port, nh.gateway))) {
      nh.has_static_mac = true;
      std::copy(sn->mac, sn->mac + 6, nh.static_mac);
    } else if (neighbors) {
      nh.neighbor = neighbors->findOrCreate(nh.port, nh.gateway);  // null when full: looked up per packet then
    }
  }
  s->routes.build(std::move(spec.nexthops), spec.routes, ports.size());
  if (spec.overlay) {
    std::vector<UnderlayPort> underlay_ports;
    for (const PortL3& p : s->ports) {
      UnderlayPort u{{}, p.vlan, p.mtu};
      std::copy(p.mac, p.mac + 6, u.mac);
      underlay_ports.push_back(u);
    }
    s->overlay =
        OverlayTables::build(std::move(*spec.overlay), underlay_ports, s->routes, s->static_neighbors, neighbors);
  }
  const OverlayTables& overlay = s->overlay;
  s->lb = LbTables::build(spec.lb, s->routes, s->static_neighbors, neighbors, [&overlay](uint32_t vni, uint32_t ip) {
    const uint32_t* vpc = overlay.vpcByVni(vni);
    return vpc ? overlay.eniByIp(*vpc, ip) : int64_t(-1);
  });
  s->neighbor = spec.neighbor;
  s->icmp = spec.icmp;
  s->conntrack = spec.conntrack;
  return s;
}

}  // namespace nfvgw
