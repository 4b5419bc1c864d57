// Building the security-group tables; see security_group.h.
#include "nf/secgroup/security_group.h"

#include <algorithm>
#include <map>

#include "nf/acl/network_acl.h"

namespace nfvgw {

namespace {

uint32_t maskOf(uint8_t len) { return len == 0 ? 0 : ~uint32_t(0) << (32 - len); }

// Sorts and merges ranges (inclusive); adjacent ranges join.
void mergeRanges(std::vector<std::pair<uint32_t, uint32_t>>& r) {
  std::sort(r.begin(), r.end());
  size_t out = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    if (out > 0 && r[i].first <= r[out - 1].second + 1)
      r[out - 1].second = std::max(r[out - 1].second, r[i].second);
    else
      r[out++] = r[i];
  }
  r.resize(out);
}

}  // namespace

void SgRules::build(const std::vector<SgRule>& rules) {
  all_ = false;
  tables_.clear();
  for (int16_t& t : table_of_proto_) t = -1;
  for (const SgRule& r : rules)
    if (r.proto < 0 && r.len == 0) all_ = true;
  if (all_) return;

  // One table per protocol named by a rule, holding its rules and the
  // every-protocol ones; the other protocols share one of those alone.
  std::vector<int> protos;
  for (const SgRule& r : rules)
    if (r.proto >= 0) protos.push_back(r.proto);
  std::sort(protos.begin(), protos.end());
  protos.erase(std::unique(protos.begin(), protos.end()), protos.end());
  const bool any_proto_rules = std::any_of(rules.begin(), rules.end(), [](const SgRule& r) { return r.proto < 0; });
  protos.push_back(-1);  // the table for every other protocol

  for (int proto : protos) {
    if (proto < 0 && !any_proto_rules) break;
    // Per distinct prefix: the port ranges of its rules (the whole range
    // for a rule without ports, as [0, kAclNoPort]).
    std::map<std::pair<uint32_t, uint8_t>, std::vector<std::pair<uint32_t, uint32_t>>> by_prefix;
    for (const SgRule& r : rules) {
      if (r.proto >= 0 && r.proto != proto) continue;
      const bool whole = r.proto < 0 || (r.port_lo == 0 && r.port_hi == 65535);
      by_prefix[{r.prefix & maskOf(r.len), r.len}].push_back(
          whole ? std::make_pair(uint32_t(0), kAclNoPort) : std::make_pair(uint32_t(r.port_lo), uint32_t(r.port_hi)));
    }
    Table t;
    t.classes.emplace_back();  // 0: no prefix covers the address
    std::vector<Lpm4::Route> routes;
    for (const auto& [key, own] : by_prefix) {
      // The prefix's ranges and those of every shorter prefix covering it.
      std::vector<std::pair<uint32_t, uint32_t>> ranges;
      for (const auto& [other, theirs] : by_prefix)
        if (other.second <= key.second && (key.first & maskOf(other.second)) == other.first)
          ranges.insert(ranges.end(), theirs.begin(), theirs.end());
      mergeRanges(ranges);
      Ports ps;
      if (!ranges.empty() && ranges[0].first == 0 && ranges[0].second >= kAclNoPort) {
        ps.any = true;
      } else {
        for (const auto& [lo, hi] : ranges) {
          ps.lo.push_back(lo);
          ps.hi.push_back(hi);
        }
      }
      routes.push_back({key.first, key.second, uint32_t(t.classes.size())});
      t.classes.push_back(std::move(ps));
    }
    t.lpm.build(routes, 0);
    const int16_t index = int16_t(tables_.size());
    tables_.push_back(std::move(t));
    if (proto >= 0) {
      table_of_proto_[proto] = index;
    } else {
      for (int16_t& slot : table_of_proto_)
        if (slot < 0) slot = index;
    }
  }
}

}  // namespace nfvgw
