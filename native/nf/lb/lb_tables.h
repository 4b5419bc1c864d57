// The load balancer's tables in a snapshot: services by (VIP, protocol,
// port), each with the backends new connections may go to and its
// scheduler's table. Built from the control plane's LbSpec off the fast
// path; read-only afterwards.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/flat_map.h"
#include "nf/arp/neighbor_table.h"
#include "nf/route/route_table.h"

namespace nfvgw {

enum class LbMode : uint8_t { kDr, kNat, kFullNat, kTunnel };
enum class LbScheduler : uint8_t { kMaglev, kRoundRobin, kWeightedRoundRobin, kLeastConn, kSourceHash };

// Connection-table zones of the reply keys of services whose replies do
// not come through the gateway (dr, tunnel): no packet carries them, so
// those keys only pin the connection to its backend (the VNIs above
// 16777199 are reserved for this).
inline constexpr uint32_t kZoneLbDr = 0xfffff0, kZoneLbTunnel = 0xfffff1;
// The zone of session-affinity records: client -> VIP, the service's index
// as source port (ConnTable::attachAffinity).
inline constexpr uint32_t kZoneLbAffinity = 0xfffff2;

struct LbBackend {
  uint32_t ip;
  uint16_t port;  // nat, fullnat: where connections go; 0: the client's destination port
  uint16_t weight;
  uint32_t slot;  // the control plane's stable number for it: counters, active connections
};

struct LbService {
  uint32_t vni = 0;  // an internal load balancer's VPC (its VNI); 0: on the gateway's ports
  uint32_t vip = 0;
  uint16_t port = 0;  // 0: every port
  uint8_t proto = 0;
  LbMode mode = LbMode::kNat;
  LbScheduler scheduler = LbScheduler::kMaglev;
  // Where new connections may go: the healthy backends with a weight, or
  // when none is healthy and the service says so, all with a weight.
  std::vector<LbBackend> pick;
  std::vector<uint16_t> table;      // maglev, sh: slot -> index into pick
  std::vector<uint16_t> sequence;   // rr, wrr: the order of picks (smooth weighted round robin)
  std::vector<uint32_t> local_ips;  // fullnat
  uint32_t affinity_ms = 0;         // session affinity's timeout; 0: none
  uint32_t index = 0;               // its position in the services (per-worker round-robin state)
};

// What the control plane hands over.
struct LbSpec {
  struct Backend {
    uint32_t ip;
    uint16_t port;
    uint16_t weight;
    bool up;
    uint32_t slot;
  };
  struct Service {
    uint32_t vni;  // 0: on the gateway's ports
    uint32_t vip;
    uint16_t port;
    uint8_t proto;
    LbMode mode;
    LbScheduler scheduler;
    uint32_t table_size;
    bool use_all_when_down;
    uint32_t affinity_ms;  // 0: no session affinity
    std::vector<uint32_t> local_ips;
    std::vector<Backend> backends;
  };
  std::vector<Service> services;
};

class LbTables {
 public:
  static constexpr uint32_t kMaxServices = 4096;

  // The overlay's ENI holding address `ip` in the VPC of VNI `vni` (its
  // index in the snapshot's OverlayTables::enis), or -1.
  using EniOf = std::function<int64_t(uint32_t vni, uint32_t ip)>;

  // Throws Error(kSnapshot) on what the control plane should have refused.
  // The next hop of each backend is resolved from `routes` (built) and the
  // neighbors, as the route table does for routers; the ENIs of the
  // backends of internal dr and tunnel services by `eni_of` (the overlay, built).
  static LbTables build(const LbSpec& spec, const RouteTable& routes, const FlatMap64<StaticNeighbor>& statics,
                        NeighborTable* neighbors, const EniOf& eni_of);

  // The way to the backend in `slot` (whose address a connection pinned
  // to it names, `ip`), resolved when the snapshot was built: a next hop
  // of kind kVia towards the backend itself (on a subnet of `nh.port`:
  // `on_link`) or towards the router the routes name, with its MAC or
  // neighbor entry, so that sending needs neither a route lookup nor a
  // neighbor hash lookup. Null when the slot holds no backend of that
  // address now (a connection pinned to a removed backend: the caller
  // routes it).
  struct BackendHop {
    NextHop nh;
    uint32_t ip = 0;  // 0: none (0/8 is never a backend)
    bool on_link = false;
  };
  const BackendHop* backendHop(uint32_t slot, uint32_t ip) const {
    return slot < hop_slots_ && hops_[slot].ip == ip ? &hops_[slot] : nullptr;
  }

  bool enabled() const { return !services_.empty(); }

  // Internal load balancers (a VIP inside a VPC, backends that are ENIs).
  bool hasVpcServices() const { return has_vpc_; }
  const LbService* vpcService(uint32_t vni, uint32_t vip, uint8_t proto, uint16_t port) const {
    const uint32_t* g = vpc_vips_.find(uint64_t(vni) << 32 | vip);
    if (!g) return nullptr;
    const LbService* any = nullptr;
    for (uint32_t i : vpc_groups_[*g]) {
      const LbService& s = services_[i];
      if (s.proto != proto) continue;
      if (s.port == port) return &s;
      if (s.port == 0) any = &s;
    }
    return any;
  }
  bool vpcVip(uint32_t vni, uint32_t ip) const { return has_vpc_ && vpc_vips_.find(uint64_t(vni) << 32 | ip); }
  // Whether `ip` in VPC `vni` is a local address of an internal fullnat
  // service: the source of its connections towards the backends, whose
  // replies come back to it.
  bool vpcLocal(uint32_t vni, uint32_t ip) const {
    return has_vpc_ && vpc_locals_.find(uint64_t(vni) << 32 | ip) != nullptr;
  }
  // Whether `ip` in VPC `vni` is a backend of an internal nat service (its
  // replies must be tracked, to get the VIP back as their source).
  bool vpcBackend(uint32_t vni, uint32_t ip) const {
    return has_vpc_ && vpc_backends_.find(uint64_t(vni) << 32 | ip) != nullptr;
  }
  // Internal dr and tunnel services. Their backends hold the VIP (on a
  // loopback, or on the device that decapsulates) and answer from it: the
  // ENI with index `eni` may send from `vip` when it is a backend of a dr or
  // tunnel service of that VIP (in its own VPC, which the ENI implies).
  // Only asked for a source that is no ENI's address.
  bool hasVpcVipSenders() const { return has_vpc_vip_senders_; }
  bool vpcVipSender(uint32_t eni, uint32_t vip) const {
    return vpc_vip_senders_.find(uint64_t(eni) << 32 | vip) != nullptr;
  }
  // The backend in a slot of an internal dr or tunnel service: such a
  // connection's reply key is its true reply (from the VIP) and names no
  // backend, its slot does.
  struct VpcDirectBackend {
    uint32_t ip;
    bool tunnel;  // reached by IP-in-IP, else by its MAC (dr)
  };
  // Null when no backend has that slot any more (it was removed from the
  // configuration).
  const VpcDirectBackend* vpcDirectBackend(uint32_t slot) const { return vpc_direct_slots_.find(uint64_t(slot) + 1); }
  // The service of a packet to `vip`: its port's, else the VIP's all-ports one.
  const LbService* service(uint32_t vip, uint8_t proto, uint16_t port) const {
    if (const uint32_t* i = by_key_.find(keyOf(vip, proto, port))) return &services_[*i];
    if (const uint32_t* i = by_key_.find(keyOf(vip, proto, 0))) return &services_[*i];
    return nullptr;
  }
  // Whether `ip` is a backend of a nat-mode service (its replies come back
  // through the gateway and are translated).
  bool natBackend(uint32_t ip) const { return has_nat_ && nat_backends_.find(ip) != nullptr; }
  bool hasNatBackends() const { return has_nat_; }
  const std::vector<LbService>& services() const { return services_; }

 private:
  static uint64_t keyOf(uint32_t vip, uint8_t proto, uint16_t port) {
    return uint64_t(vip) << 32 | uint64_t(proto) << 16 | port;
  }
  std::vector<LbService> services_;
  FlatMap64<uint32_t> by_key_;
  FlatMap64<uint8_t> nat_backends_;
  bool has_nat_ = false;
  std::vector<BackendHop> hops_;  // by slot
  uint32_t hop_slots_ = 0;        // hops_.size(), kept: a division by sizeof(BackendHop) a packet otherwise
  bool has_vpc_ = false;
  FlatMap64<uint32_t> vpc_vips_;  // VNI << 32 | VIP -> group
  std::vector<std::vector<uint32_t>> vpc_groups_;
  FlatMap64<uint8_t> vpc_backends_;  // VNI << 32 | address: nat
  FlatMap64<uint8_t> vpc_locals_;    // VNI << 32 | address: fullnat
  bool has_vpc_vip_senders_ = false;
  FlatMap64<uint8_t> vpc_vip_senders_;            // ENI << 32 | VIP
  FlatMap64<VpcDirectBackend> vpc_direct_slots_;  // slot + 1
};

}  // namespace nfvgw
