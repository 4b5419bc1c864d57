// The VPC overlay's tables in a snapshot: VPCs by VNI, subnets, ENIs by MAC
// and by address, one route table per subnet association, transit gateway
// tables, network ACLs, and how to reach each hypervisor (VTEP) on the
// underlay. Built from the control plane's OverlaySpec off the fast path;
// read-only afterwards.
#pragma once

#include <cstdint>
#include <vector>

#include "core/flat_map.h"
#include "nf/acl/network_acl.h"
#include "nf/arp/neighbor_table.h"
#include "nf/route/lpm4.h"
#include "nf/route/route_table.h"
#include "nf/secgroup/security_group.h"
#include "nf/vxlan/vxlan.h"

namespace nfvgw {

enum class OverlayKind : uint8_t { kNone, kLocal, kPeering, kTransit, kEni, kBlackhole, kAttachment, kNat, kIgw };

struct OverlayTarget {
  OverlayKind kind = OverlayKind::kNone;
  uint32_t vpc = 0;  // kLocal, kPeering (the peer), kAttachment
  uint32_t tgw = 0;  // kTransit
  uint32_t eni = 0;  // kEni (an appliance)
  uint32_t nat = 0;  // kNat: the NAT gateway
};

// A NAT gateway: its public addresses and the ports it maps to.
struct NatGateway {
  uint32_t vpc;
  std::vector<uint32_t> ips;
  uint16_t port_lo, port_hi;
};

// A port of a NAT gateway's public address forwarded to an ENI (DNAT).
struct PortForward {
  uint32_t public_ip;
  uint8_t proto;
  uint16_t public_port;
  uint32_t eni;
  uint32_t private_ip;
  uint16_t private_port;
};

// A public address of the gateway on the internet side: a NAT gateway's,
// or an elastic IP bound 1:1 to one private address of an ENI.
struct PublicIp {
  bool eip;
  uint32_t nat;         // NAT gateway
  uint32_t eni;         // EIP: the ENI
  uint32_t private_ip;  // EIP: the private address
};

struct VpcSubnet {
  uint32_t vpc;
  uint32_t prefix;
  uint32_t mask;
  uint32_t gateway;  // the subnet's first host address: the VMs' router
  uint32_t route_table;
  int32_t acl;  // -1: none
};

struct Eni {
  uint32_t vpc;
  uint32_t subnet;
  uint8_t mac[6];
  uint32_t vtep;      // 0: detached
  uint32_t underlay;  // index of the VTEP's UnderlayAdj
  uint32_t sg_set;    // its security groups (OverlayTables::sg_sets)
  bool sg_open;       // they allow everything both ways (SgSet::open)
};

// How to reach one VTEP on the underlay, resolved when the snapshot is built
// (as router next hops are, see NextHop): encapsulation needs no lookup.
struct UnderlayAdj {
  uint32_t vtep = 0;
  bool routable = false;
  uint16_t port = 0;
  uint16_t vlan = 0;  // the output port's tag (0: untagged)
  uint8_t port_mac[6] = {};
  uint32_t next_ip = 0;  // the VTEP itself, or the underlay router towards it
  bool has_static_mac = false;
  uint8_t static_mac[6] = {};
  NeighborTable::Entry* neighbor = nullptr;
  uint32_t mtu = 0;  // the output port's: what an encapsulated frame must fit
  // The outer IPv4, UDP and VXLAN headers towards this VTEP with the
  // per-packet fields (lengths, checksum, source port, VNI) zero, and the
  // one's-complement sum of the IPv4 header's words: encapsulating copies
  // the headers, patches those fields and folds the checksum with the
  // length added (VPP's rewrite string with a precomputed checksum).
  uint8_t outer[kVxlanOuterL3] = {};
  uint32_t csum_partial = 0;
};

// What the tables need to know of each port of the gateway.
struct UnderlayPort {
  uint8_t mac[6];
  uint16_t vlan;
  uint32_t mtu;
};

// What the control plane hands over (src/dataplane/native.ts OverlaySpec).
struct OverlaySpec {
  struct Subnet {
    uint32_t vpc, prefix, length, gateway, route_table;
    int32_t acl;
  };
  struct EniSpec {
    uint32_t vpc, subnet;
    uint8_t mac[6];
    uint32_t vtep;
    std::vector<uint32_t> ips;
    uint32_t sg_set;
  };
  struct SgSetSpec {
    std::vector<SgRule> inbound, outbound;
  };
  struct Route {
    uint32_t table, prefix;
    uint8_t length;
    uint32_t target;
  };
  struct Acl {
    std::vector<AclRule> inbound, outbound;
  };
  struct Eip {
    uint32_t public_ip, eni, private_ip;
  };
  uint16_t port = 0;
  uint32_t vtep_ip = 0;
  uint16_t udp_port = 4789;
  uint8_t router_mac[6] = {};
  std::vector<uint32_t> vnis;
  std::vector<Subnet> subnets;
  std::vector<EniSpec> enis;
  std::vector<OverlayTarget> targets;
  uint32_t route_tables = 0;
  std::vector<Route> routes;
  uint32_t transit_gateways = 0;
  std::vector<Route> transit_routes;
  std::vector<Acl> acls;
  std::vector<SgSetSpec> sg_sets;
  int32_t uplink = -1;  // the port towards the internet; -1: none
  std::vector<NatGateway> nat_gateways;
  std::vector<Eip> eips;
  std::vector<PortForward> port_forwards;
};

class OverlayTables {
 public:
  bool enabled = false;
  uint16_t port = 0;
  uint32_t vtep_ip = 0;
  uint16_t udp_port = 4789;
  uint8_t router_mac[6] = {};
  std::vector<uint32_t> vnis;  // per VPC
  std::vector<VpcSubnet> subnets;
  std::vector<Eni> enis;
  std::vector<OverlayTarget> targets;
  std::vector<Lpm4> route_tables;  // values: target indexes
  std::vector<Lpm4> transit_tables;
  std::vector<NetworkAcl> acls;
  std::vector<SgSet> sg_sets;
  std::vector<UnderlayAdj> underlay;
  int32_t uplink = -1;  // the internet side (NAT gateways, EIPs); -1: none
  std::vector<NatGateway> nat_gateways;
  std::vector<PublicIp> publics;

  const PublicIp* publicIp(uint32_t ip) const {
    const uint32_t* i = public_ips_.find(kMarker | ip);
    return i ? &publics[*i] : nullptr;
  }
  const PortForward* portForward(uint32_t ip, uint8_t proto, uint16_t public_port) const {
    const uint32_t* i = forward_.find(forwardKey(ip, proto, public_port));
    return i ? &forwards_[*i] : nullptr;
  }
  // The EIP bound to `ip` in `vpc`, or 0.
  uint32_t eipOf(uint32_t vpc, uint32_t ip) const {
    const uint32_t* e = eip_by_private_.find(kMarker | (uint64_t(vpc) << 32) | ip);
    return e ? *e : 0;
  }

  const uint32_t* vpcByVni(uint32_t vni) const { return vpc_by_vni_.find(vni | kMarker); }
  const Eni* eniByMac(uint32_t vpc, const uint8_t* mac) const {
    const uint32_t* i = eni_by_mac_.find(macKey(vpc, mac));
    return i ? &enis[*i] : nullptr;
  }
  // Index of the ENI holding `ip` in `vpc`, or -1.
  __attribute__((always_inline)) int64_t eniByIp(uint32_t vpc, uint32_t ip) const {
    const uint32_t* i = eni_by_ip_.find(kMarker | (uint64_t(vpc) << 32) | ip);
    return i ? int64_t(*i) : -1;
  }
  size_t routeCount() const { return route_count_; }

  // One route added, replaced (the same table, prefix and length) or
  // removed, for changeRoutes().
  struct RouteChange {
    uint32_t table;
    uint32_t prefix;
    uint8_t length;
    bool remove;
    uint32_t target;  // an index into the targets, after `added` is appended
  };

  // Edits this copy's VPC route tables in place: appends `added` to the
  // targets, applies `changes` in order to the route lists and updates the
  // part of each table a change touches (Lpm4::update: a single /16-or-longer
  // route change on a table of 100 000 routes rebuilds one top-level slot).
  // Throws Error(kSnapshot) on an index out of range; the copy is then
  // half-edited and must be dropped.
  void changeRoutes(const std::vector<RouteChange>& changes, std::vector<OverlayTarget> added);

  // Throws Error(kSnapshot) when an index is out of range. `ports`,
  // `underlay`, `statics` and `neighbors` are the snapshot's, to resolve the
  // VTEPs.
  static OverlayTables build(OverlaySpec spec, const std::vector<UnderlayPort>& ports, const RouteTable& underlay,
                             const FlatMap64<StaticNeighbor>& statics, NeighborTable* neighbors);

 private:
  static constexpr uint64_t kMarker = uint64_t(1) << 63;  // keys are never 0
  static uint64_t macKey(uint32_t vpc, const uint8_t* mac) {
    uint64_t m = 0;
    for (int i = 0; i < 6; ++i) m = (m << 8) | mac[i];
    return kMarker | (uint64_t(vpc) << 48) | m;
  }

  FlatMap64<uint32_t> vpc_by_vni_;
  FlatMap64<uint32_t> eni_by_mac_;
  FlatMap64<uint32_t> eni_by_ip_;
  FlatMap64<uint32_t> public_ips_;      // public address -> publics index
  FlatMap64<uint32_t> eip_by_private_;  // (VPC, private address) -> EIP
  FlatMap64<uint32_t> forward_;         // (public address, protocol, port) -> forwards_ index
  std::vector<PortForward> forwards_;
  static uint64_t forwardKey(uint32_t ip, uint8_t proto, uint16_t port) {
    return kMarker | (uint64_t(ip) << 24) | (uint64_t(proto) << 16) | port;
  }
  size_t route_count_ = 0;
  uint32_t transit_gateways_ = 0;
  // Each VPC route table's routes as built (its VPC's CIDRs included):
  // what changeRoutes() edits and builds a table from again.
  std::vector<std::vector<Lpm4::Route>> route_lists_;
};

}  // namespace nfvgw
