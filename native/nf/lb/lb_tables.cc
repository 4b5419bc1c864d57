// Building the load balancer's tables; see lb_tables.h.
#include "nf/lb/lb_tables.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <unordered_map>

#include "core/error.h"
#include "nf/conntrack/conntrack.h"
#include "nf/lb/maglev.h"

namespace nfvgw {

namespace {

// The order round robin takes the backends in, weighted the smooth way
// (nginx's: every step each backend gains its weight, the richest is
// picked and pays the total), so a backend of weight 3 among 1s is picked
// every other time rather than three times in a row. Weights are reduced
// by their common divisor and, when their sum is large, scaled down to
// keep the sequence short (a backend keeps at least 1).
std::vector<uint16_t> roundRobinOrder(const std::vector<LbBackend>& pick, bool weighted) {
  constexpr uint64_t kMaxLength = 16384;
  std::vector<uint64_t> w(pick.size());
  uint64_t g = 0, total = 0;
  for (size_t i = 0; i < pick.size(); ++i) {
    w[i] = weighted ? pick[i].weight : 1;
    g = std::gcd(g, w[i]);
    total += w[i];
  }
  if (g == 0) return {};
  total = 0;
  for (uint64_t& x : w) total += (x /= g);
  if (total > kMaxLength) {
    const uint64_t before = total;
    total = 0;
    for (uint64_t& x : w) total += (x = std::max<uint64_t>(1, x * kMaxLength / before));
  }
  std::vector<int64_t> current(pick.size(), 0);
  std::vector<uint16_t> order;
  order.reserve(total);
  for (uint64_t step = 0; step < total; ++step) {
    size_t best = 0;
    for (size_t i = 0; i < pick.size(); ++i) {
      current[i] += int64_t(w[i]);
      if (current[i] > current[best]) best = i;
    }
    current[best] -= int64_t(total);
    order.push_back(uint16_t(best));
  }
  return order;
}

}  // namespace

LbTables LbTables::build(const LbSpec& spec, const RouteTable& routes, const FlatMap64<StaticNeighbor>& statics,
                         NeighborTable* neighbors, const EniOf& eni_of) {
  auto fail = [](const std::string& what) { throw Error(err::kSnapshot, "loadBalancers: " + what); };
  if (spec.services.size() > kMaxServices) fail("more than " + std::to_string(kMaxServices) + " services");
  LbTables t;
  std::vector<std::pair<uint64_t, uint32_t>> keys;
  std::vector<std::pair<uint64_t, uint8_t>> nat_backends, vpc_backends, vip_senders, vpc_locals;
  std::vector<std::pair<uint64_t, VpcDirectBackend>> direct_slots;
  std::unordered_map<uint64_t, uint32_t> vpc_group_of;
  for (const LbSpec::Service& s : spec.services) {
    const std::string where = "services[" + std::to_string(t.services_.size()) + "]";
    if (s.vip == 0) fail(where + ": no VIP");
    if (s.backends.size() > 0xfffe) fail(where + ": too many backends");
    if ((s.scheduler == LbScheduler::kMaglev || s.scheduler == LbScheduler::kSourceHash) && !isPrime(s.table_size))
      fail(where + ": the table size " + std::to_string(s.table_size) + " is not a prime");
    if (s.mode == LbMode::kFullNat && s.local_ips.empty()) fail(where + ": fullnat without local IPs");
    LbService svc;
    svc.vni = s.vni;
    svc.vip = s.vip;
    svc.port = s.port;
    svc.proto = s.proto;
    svc.mode = s.mode;
    svc.scheduler = s.scheduler;
    svc.local_ips = s.local_ips;
    svc.index = uint32_t(t.services_.size());
    svc.affinity_ms = s.affinity_ms;
    for (const LbSpec::Backend& b : s.backends) {
      if (b.slot >= ConnTable::kBackendSlots) fail(where + ": backend slot out of range");
      if (b.weight > 0 && b.up) svc.pick.push_back({b.ip, b.port, b.weight, b.slot});
      if (s.vni) {
        if (s.mode == LbMode::kNat) {
          vpc_backends.push_back({uint64_t(s.vni) << 32 | b.ip, 1});
        } else if (s.mode == LbMode::kDr || s.mode == LbMode::kTunnel) {
          // Every backend, up or not: its connections stay on it.
          direct_slots.push_back({uint64_t(b.slot) + 1, {b.ip, s.mode == LbMode::kTunnel}});
          const int64_t eni = eni_of(s.vni, b.ip);
          if (eni < 0) fail(where + ": a backend is no ENI's address");
          vip_senders.push_back({uint64_t(eni) << 32 | s.vip, 1});
        }
      } else if (s.mode == LbMode::kNat) {
        nat_backends.push_back({b.ip, 1});
      }
    }
    if (svc.pick.empty() && s.use_all_when_down)
      for (const LbSpec::Backend& b : s.backends)
        if (b.weight > 0) svc.pick.push_back({b.ip, b.port, b.weight, b.slot});
    if (!svc.pick.empty()) {
      if (s.scheduler == LbScheduler::kMaglev || s.scheduler == LbScheduler::kSourceHash) {
        // In a fixed order, so that the configuration's order of the
        // backends does not change the table.
        std::sort(svc.pick.begin(), svc.pick.end(),
                  [](const LbBackend& a, const LbBackend& b) { return a.ip != b.ip ? a.ip < b.ip : a.port < b.port; });
        std::vector<MaglevBackend> mb;
        mb.reserve(svc.pick.size());
        for (const LbBackend& b : svc.pick) mb.push_back({uint64_t(b.ip) << 16 | b.port, b.weight});
        svc.table = maglevBuild(mb, s.table_size);
      } else if (s.scheduler != LbScheduler::kLeastConn) {
        svc.sequence = roundRobinOrder(svc.pick, s.scheduler == LbScheduler::kWeightedRoundRobin);
      }
    }
    if (s.vni) {
      if (s.mode == LbMode::kFullNat)
        for (uint32_t ip : s.local_ips) vpc_locals.push_back({uint64_t(s.vni) << 32 | ip, 1});
      const uint64_t key = uint64_t(s.vni) << 32 | s.vip;
      auto [it, fresh] = vpc_group_of.emplace(key, uint32_t(t.vpc_groups_.size()));
      if (fresh) t.vpc_groups_.emplace_back();
      t.vpc_groups_[it->second].push_back(svc.index);
    } else {
      keys.push_back({keyOf(s.vip, s.proto, s.port), svc.index});
    }
    t.services_.push_back(std::move(svc));
  }
  // Each backend's way out, under its slot (the connection has it at hand:
  // an index, where a hash of the address would be a lookup a packet).
  for (const LbSpec::Service& s : spec.services) {
    if (s.vni) continue;  // ENIs, reached through the overlay
    for (const LbSpec::Backend& b : s.backends) {
      const NextHop& r = routes.lookup(b.ip);
      if (r.kind != NhKind::kConnected && r.kind != NhKind::kVia) continue;
      BackendHop h{r, b.ip, r.kind == NhKind::kConnected};
      if (h.on_link) {
        h.nh.kind = NhKind::kVia;
        h.nh.gateway = b.ip;
        h.nh.bcast = 0;
        if (const StaticNeighbor* sn = statics.find(NeighborTable::keyOf(r.port, b.ip))) {
          h.nh.has_static_mac = true;
          std::copy(sn->mac, sn->mac + 6, h.nh.static_mac);
        } else if (neighbors) {
          h.nh.neighbor = neighbors->findOrCreate(r.port, b.ip);  // null when full: looked up per packet then
        }
      }
      if (t.hops_.size() <= b.slot) t.hops_.resize(size_t(b.slot) + 1);
      t.hops_[b.slot] = h;
    }
  }
  t.hop_slots_ = uint32_t(t.hops_.size());
  t.by_key_.build(keys);
  t.nat_backends_.build(nat_backends);
  t.vpc_backends_.build(vpc_backends);
  t.vpc_locals_.build(vpc_locals);
  t.vpc_vip_senders_.build(vip_senders);
  t.vpc_direct_slots_.build(direct_slots);
  t.has_vpc_vip_senders_ = !vip_senders.empty();
  t.vpc_vips_.build({vpc_group_of.begin(), vpc_group_of.end()});
  t.has_vpc_ = !vpc_group_of.empty();
  t.has_nat_ = !nat_backends.empty();
  return t;
}

}  // namespace nfvgw
