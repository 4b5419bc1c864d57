// Building the overlay tables from their spec; see vpc_tables.h.
#include "nf/vpc/vpc_tables.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>

#include "core/error.h"
#include "nf/vxlan/vxlan.h"
#include "pkt/checksum.h"
#include "pkt/headers.h"

namespace nfvgw {

namespace {

void check(bool ok, const std::string& what) {
  if (!ok) throw Error(err::kSnapshot, "overlay: " + what);
}

// Sorts `routes` into one list per table, checking every index.
std::vector<std::vector<Lpm4::Route>> routeLists(uint32_t count, const std::vector<OverlaySpec::Route>& routes,
                                                 size_t targets, const char* what) {
  std::vector<std::vector<Lpm4::Route>> per(count);
  for (const auto& r : routes) {
    check(r.table < count, std::string(what) + " route names table " + std::to_string(r.table));
    check(r.target < targets, std::string(what) + " route names target " + std::to_string(r.target));
    check(r.length <= 32, std::string(what) + " route with prefix length > 32");
    per[r.table].push_back({r.prefix, r.length, r.target});
  }
  return per;
}

std::vector<Lpm4> buildTables(const std::vector<std::vector<Lpm4::Route>>& lists) {
  std::vector<Lpm4> tables(lists.size());
  for (size_t t = 0; t < lists.size(); ++t) tables[t].build(lists[t], 0);
  return tables;
}

void checkTarget(const OverlayTarget& t, size_t vpcs, size_t tgws, size_t enis, size_t nats) {
  check((t.kind != OverlayKind::kLocal && t.kind != OverlayKind::kPeering && t.kind != OverlayKind::kAttachment) ||
            t.vpc < vpcs,
        "target names a VPC out of range");
  check(t.kind != OverlayKind::kTransit || t.tgw < tgws, "target names a transit gateway out of range");
  check(t.kind != OverlayKind::kEni || t.eni < enis, "target names an ENI out of range");
  check(t.kind != OverlayKind::kNat || t.nat < nats, "target names a NAT gateway out of range");
}

uint32_t maskOf(uint8_t len) { return len == 0 ? 0 : ~uint32_t(0) << (32 - len); }

// The constant part of the outer headers towards `vtep`; see UnderlayAdj.
void buildOuter(UnderlayAdj& adj, uint32_t local, uint16_t udp_port) {
  Ip4Hdr ip{};
  ip.ver_ihl = 0x45;
  ip.frag_off = be16(kIp4FlagDf);  // never fragmented: oversize frames are refused
  ip.ttl = kVxlanOuterTtl;
  ip.proto = kIpProtoUdp;
  ip.src = be32(local);
  ip.dst = be32(adj.vtep);
  adj.csum_partial = csumAdd(&ip, sizeof(ip));
  UdpHdr udp{};
  udp.dport = be16(udp_port);  // the checksum stays 0 (RFC 7348 section 5)
  VxlanHdr vx{};
  vx.flags = kVxlanFlagI;
  std::memcpy(adj.outer, &ip, sizeof(ip));
  std::memcpy(adj.outer + sizeof(ip), &udp, sizeof(udp));
  std::memcpy(adj.outer + sizeof(ip) + sizeof(udp), &vx, sizeof(vx));
}

}  // namespace

OverlayTables OverlayTables::build(OverlaySpec spec, const std::vector<UnderlayPort>& ports, const RouteTable& underlay,
                                   const FlatMap64<StaticNeighbor>& statics, NeighborTable* neighbors) {
  const size_t port_count = ports.size();
  OverlayTables o;
  o.enabled = true;
  check(spec.port < port_count, "the underlay port index is out of range");
  check(spec.vnis.size() < (1u << 15), "at most 32767 VPCs");
  o.port = spec.port;
  o.vtep_ip = spec.vtep_ip;
  o.udp_port = spec.udp_port;
  std::copy(spec.router_mac, spec.router_mac + 6, o.router_mac);
  o.vnis = spec.vnis;

  std::vector<std::pair<uint64_t, uint32_t>> by_vni;
  for (uint32_t v = 0; v < o.vnis.size(); ++v) {
    check(o.vnis[v] > 0 && o.vnis[v] < (1u << 24), "VNI out of range");
    by_vni.emplace_back(o.vnis[v] | kMarker, v);
  }
  o.vpc_by_vni_.build(by_vni);

  for (const auto& s : spec.subnets) {
    check(s.vpc < o.vnis.size() && s.route_table < spec.route_tables && s.length <= 32 &&
              (s.acl < 0 || size_t(s.acl) < spec.acls.size()),
          "subnet with an index out of range");
    uint32_t mask = s.length == 0 ? 0 : ~uint32_t(0) << (32 - s.length);
    o.subnets.push_back({s.vpc, s.prefix & mask, mask, s.gateway, s.route_table, s.acl});
  }

  o.targets = std::move(spec.targets);
  for (const OverlayTarget& t : o.targets)
    checkTarget(t, o.vnis.size(), spec.transit_gateways, spec.enis.size(), spec.nat_gateways.size());
  if (o.targets.empty()) o.targets.push_back({});
  o.route_lists_ = routeLists(spec.route_tables, spec.routes, o.targets.size(), "VPC");
  o.route_tables = buildTables(o.route_lists_);
  o.transit_tables = buildTables(routeLists(spec.transit_gateways, spec.transit_routes, o.targets.size(), "transit"));
  o.transit_gateways_ = spec.transit_gateways;
  o.route_count_ = spec.routes.size() + spec.transit_routes.size();

  for (const auto& a : spec.acls) {
    NetworkAcl& acl = o.acls.emplace_back();
    for (const AclRule& r : a.inbound) acl.inbound.push_back(aclCompile(r));
    for (const AclRule& r : a.outbound) acl.outbound.push_back(aclCompile(r));
  }

  for (const auto& g : spec.sg_sets) {
    SgSet& set = o.sg_sets.emplace_back();
    set.inbound.build(g.inbound);
    set.outbound.build(g.outbound);
  }

  // One adjacency per distinct VTEP: how the underlay reaches it.
  std::vector<std::pair<uint64_t, uint32_t>> by_mac, by_ip;
  std::unordered_map<uint32_t, uint32_t> vtep_index;  // VTEP -> adjacency
  for (uint32_t i = 0; i < spec.enis.size(); ++i) {
    const auto& e = spec.enis[i];
    check(e.vpc < o.vnis.size() && e.subnet < o.subnets.size() && o.subnets[e.subnet].vpc == e.vpc &&
              e.sg_set < o.sg_sets.size(),
          "ENI " + std::to_string(i) + " with a VPC, subnet or security group set out of range");
    Eni eni{e.vpc, e.subnet, {}, e.vtep, 0, e.sg_set, o.sg_sets[e.sg_set].open()};
    std::copy(e.mac, e.mac + 6, eni.mac);
    if (e.vtep) {
      if (auto known = vtep_index.find(e.vtep); known != vtep_index.end()) {
        eni.underlay = known->second;
      } else {
        UnderlayAdj adj;
        adj.vtep = e.vtep;
        const NextHop& nh = underlay.lookup(e.vtep);
        if (nh.kind == NhKind::kConnected || nh.kind == NhKind::kVia) {
          adj.routable = true;
          adj.port = nh.port;
          adj.next_ip = nh.kind == NhKind::kVia ? nh.gateway : e.vtep;
          if (nh.kind == NhKind::kVia && nh.has_static_mac) {
            adj.has_static_mac = true;
            std::copy(nh.static_mac, nh.static_mac + 6, adj.static_mac);
          } else if (const StaticNeighbor* sn = statics.find(NeighborTable::keyOf(adj.port, adj.next_ip))) {
            adj.has_static_mac = true;
            std::copy(sn->mac, sn->mac + 6, adj.static_mac);
          } else if (neighbors) {
            adj.neighbor = neighbors->findOrCreate(adj.port, adj.next_ip);
          }
        }
        buildOuter(adj, o.vtep_ip, o.udp_port);
        if (adj.routable) {
          const UnderlayPort& out = ports[adj.port];
          std::copy(out.mac, out.mac + 6, adj.port_mac);
          adj.vlan = out.vlan;
          adj.mtu = out.mtu;
        }
        eni.underlay = uint32_t(o.underlay.size());
        vtep_index.emplace(e.vtep, eni.underlay);
        o.underlay.push_back(adj);
      }
    }
    o.enis.push_back(eni);
    by_mac.emplace_back(macKey(e.vpc, e.mac), i);
    for (uint32_t ip : e.ips) by_ip.emplace_back(kMarker | (uint64_t(e.vpc) << 32) | ip, i);
  }
  o.eni_by_mac_.build(by_mac);
  o.eni_by_ip_.build(by_ip);

  // The internet side.
  o.uplink = spec.uplink;
  check(spec.uplink < int32_t(port_count), "the uplink port index is out of range");
  std::vector<std::pair<uint64_t, uint32_t>> publics, eips;
  for (uint32_t g = 0; g < spec.nat_gateways.size(); ++g) {
    const NatGateway& n = spec.nat_gateways[g];
    check(n.vpc < o.vnis.size() && !n.ips.empty() && n.port_lo <= n.port_hi,
          "NAT gateway " + std::to_string(g) + " is malformed");
    for (uint32_t ip : n.ips) {
      publics.emplace_back(kMarker | ip, uint32_t(o.publics.size()));
      o.publics.push_back({false, g, 0, 0});
    }
  }
  o.nat_gateways = std::move(spec.nat_gateways);
  for (const auto& e : spec.eips) {
    check(e.eni < o.enis.size(), "EIP with an ENI out of range");
    publics.emplace_back(kMarker | e.public_ip, uint32_t(o.publics.size()));
    o.publics.push_back({true, 0, e.eni, e.private_ip});
    eips.emplace_back(kMarker | (uint64_t(o.enis[e.eni].vpc) << 32) | e.private_ip, e.public_ip);
  }
  o.public_ips_.build(publics);
  o.eip_by_private_.build(eips);
  std::vector<std::pair<uint64_t, uint32_t>> forwards;
  for (const PortForward& f : spec.port_forwards) {
    check(f.eni < o.enis.size(), "port forward with an ENI out of range");
    forwards.emplace_back(forwardKey(f.public_ip, f.proto, f.public_port), uint32_t(o.forwards_.size()));
    o.forwards_.push_back(f);
  }
  o.forward_.build(forwards);
  return o;
}

void OverlayTables::changeRoutes(const std::vector<RouteChange>& changes, std::vector<OverlayTarget> added) {
  for (const OverlayTarget& t : added) {
    checkTarget(t, vnis.size(), transit_gateways_, enis.size(), nat_gateways.size());
    targets.push_back(t);
  }
  for (const RouteChange& c : changes) {
    check(c.table < route_lists_.size(), "route change names table " + std::to_string(c.table));
    check(c.length <= 32, "route change with prefix length > 32");
    check(c.remove || c.target < targets.size(), "route change names target " + std::to_string(c.target));
    std::vector<Lpm4::Route>& list = route_lists_[c.table];
    const uint32_t prefix = c.prefix & maskOf(c.length);
    auto same = [&](const Lpm4::Route& r) { return r.len == c.length && (r.prefix & maskOf(r.len)) == prefix; };
    auto it = std::find_if(list.begin(), list.end(), same);
    if (c.remove) {
      if (it == list.end()) continue;
      *it = list.back();  // the order of a list does not matter: prefixes are unique in it
      list.pop_back();
      --route_count_;
    } else if (it != list.end()) {
      it->value = c.target;
    } else {
      list.push_back({prefix, c.length, c.target});
      ++route_count_;
    }
    route_tables[c.table].update(list, 0, prefix, prefix | ~maskOf(c.length));
  }
}

}  // namespace nfvgw
