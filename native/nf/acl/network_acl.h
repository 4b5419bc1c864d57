// Stateless network ACLs (one per subnet): numbered rules evaluated in
// order, the first match decides, and no match denies. Traffic leaving a
// subnet meets its outbound rules, traffic entering one its inbound rules;
// replies need rules of their own.
#pragma once

#include <cstdint>
#include <vector>

namespace nfvgw {

// A rule as the control plane gives it.
struct AclRule {
  bool allow;
  int16_t proto;  // -1: any
  uint16_t port_lo;
  uint16_t port_hi;  // a range of destination ports (TCP and UDP rules only)
  uint32_t prefix;   // the remote side: source inbound, destination outbound
  uint32_t mask;
};

// The "port" of a packet without one (not TCP or UDP, or a later fragment):
// outside every range a rule can name.
inline constexpr uint32_t kAclNoPort = 0x10000;

// A rule as the fast path matches it: three comparisons, no special cases.
struct AclMatch {
  uint32_t prefix;
  uint32_t mask;
  uint32_t port_lo;
  uint32_t port_span;  // matches when port - port_lo <= port_span (unsigned)
  uint8_t proto;
  uint8_t proto_mask;  // 0: any protocol
  bool allow;
};

inline AclMatch aclCompile(const AclRule& r) {
  AclMatch m{r.prefix & r.mask, r.mask, 0, kAclNoPort, 0, 0, r.allow};
  if (r.proto >= 0) {
    m.proto = uint8_t(r.proto);
    m.proto_mask = 0xff;
    if (r.port_lo != 0 || r.port_hi != 65535) {  // a port range: packets without ports never match
      m.port_lo = r.port_lo;
      m.port_span = uint32_t(r.port_hi - r.port_lo);
    }
  }
  return m;
}

struct NetworkAcl {
  std::vector<AclMatch> inbound;
  std::vector<AclMatch> outbound;
};

// The first rule that matches decides; none denies. `port` is the
// destination port for TCP and UDP (first fragments), else kAclNoPort.
__attribute__((always_inline)) inline bool aclAllows(const std::vector<AclMatch>& rules, uint8_t proto, uint32_t port,
                                                     uint32_t remote) {
  for (const AclMatch& r : rules) {
    if ((proto & r.proto_mask) != r.proto) continue;
    if ((remote & r.mask) != r.prefix) continue;
    if (port - r.port_lo > r.port_span) continue;
    return r.allow;
  }
  return false;
}

}  // namespace nfvgw
