// Security groups: the allow rules of an ENI's groups, one direction at a
// time, compiled for a lookup whose cost does not grow with the number of
// rules.
//
// The rules of all the groups of an ENI form a union (no order, no deny), so
// a packet is allowed when some rule matches its protocol, destination port
// and remote address. Per protocol the rules' prefixes go into a poptrie
// whose leaf, for an address, names the union of the port ranges of every
// rule whose prefix covers it (the ranges of a prefix's ancestors are
// merged into it when the table is built); the ranges are sorted and
// merged, so the port is one binary search. A lookup is one LPM and one
// search of a few entries, for 10 rules as for 1000.
#pragma once

#include <cstdint>
#include <vector>

#include "nf/route/lpm4.h"

namespace nfvgw {

// A rule as the control plane gives it (a group reference already expanded
// into the addresses of its members).
struct SgRule {
  int16_t proto;  // -1: every protocol (and every port)
  uint16_t port_lo, port_hi;
  uint32_t prefix;
  uint8_t len;
};

class SgRules {
 public:
  void build(const std::vector<SgRule>& rules);

  // `port` is the destination port of TCP and UDP (first fragments), else
  // kAclNoPort (such packets match only rules without a port range).
  bool allows(uint8_t proto, uint32_t port, uint32_t remote) const {
    if (all_) return true;
    const int16_t t = table_of_proto_[proto];
    if (t < 0) return false;
    const Table& tb = tables_[size_t(t)];
    const Ports& ps = tb.classes[tb.lpm.lookup(remote)];
    if (ps.any) return true;
    // The last range starting at or below the port.
    size_t lo = 0, hi = ps.lo.size();
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (ps.lo[mid] <= port)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo > 0 && port <= ps.hi[lo - 1];
  }
  // Allows every protocol from and to everywhere.
  bool all() const { return all_; }

 private:
  struct Ports {
    bool any = false;              // every port (and packets without ports)
    std::vector<uint32_t> lo, hi;  // merged, sorted ranges
  };
  struct Table {
    Lpm4 lpm;  // value: index into classes
    std::vector<Ports> classes;
  };
  bool all_ = false;
  int16_t table_of_proto_[256];
  std::vector<Table> tables_;
};

// The groups of one or more ENIs (ENIs with the same groups share it).
struct SgSet {
  SgRules inbound, outbound;
  // Both directions allow everything: connections between two such ENIs
  // need no tracking (nothing a reply could be refused by).
  bool open() const { return inbound.all() && outbound.all(); }
};

}  // namespace nfvgw
