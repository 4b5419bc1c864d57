// Stateless network ACLs (one per subnet): numbered rules evaluated in
// order, the first match decides, and no match denies. Traffic leaving a
// subnet meets its outbound rules, traffic entering one its inbound rules;
// replies need rules of their own.
#pragma once

#include <cstdint>
#include <vector>

namespace nfvgw {

struct AclRule {
  bool allow;
  int16_t proto;  // -1: any
  uint16_t port_lo;
  uint16_t port_hi;
  uint32_t prefix;  // the remote side: source inbound, destination outbound
  uint32_t mask;
};

struct NetworkAcl {
  std::vector<AclRule> inbound;
  std::vector<AclRule> outbound;
};

// `dport` is the destination port for TCP and UDP (first fragments), 0
// otherwise; port ranges only match TCP and UDP.
inline bool aclAllows(const std::vector<AclRule>& rules, uint8_t proto, uint16_t dport, bool has_ports,
                      uint32_t remote) {
  for (const AclRule& r : rules) {
    if (r.proto >= 0 && r.proto != proto) continue;
    if ((remote & r.mask) != r.prefix) continue;
    if (r.proto >= 0 && (r.port_lo != 0 || r.port_hi != 65535)) {
      if (!has_ports || dport < r.port_lo || dport > r.port_hi) continue;
    }
    return r.allow;
  }
  return false;
}

}  // namespace nfvgw
