// The one registry of drop reasons and pipeline events. Each module lists its
// own in an X-macro next to its code; this file strings them together into
// the enums, the counter names and the help texts that become the labels of
// nfvgw_drops_total{reason} and nfvgw_pipeline_events_total{event}. Adding a
// reason is one line in the module's list.
#pragma once

#include <cstdint>

#include "io/io_drops.h"
#include "nf/acl/acl_drops.h"
#include "nf/arp/arp_drops.h"
#include "nf/conntrack/conntrack_drops.h"
#include "nf/icmp/icmp_drops.h"
#include "nf/lb/lb_drops.h"
#include "nf/nat/nat_drops.h"
#include "nf/route/route_drops.h"
#include "nf/secgroup/sg_drops.h"
#include "nf/vpc/vpc_drops.h"
#include "nf/vxlan/vxlan_drops.h"
#include "pkt/parse_drops.h"

// One module per line; the formatter would fold them.
// clang-format off
#define NFVGW_DROPS(X) \
  NFVGW_IO_DROPS(X)    \
  NFVGW_PARSE_DROPS(X) \
  NFVGW_ARP_DROPS(X)   \
  NFVGW_ICMP_DROPS(X)  \
  NFVGW_ROUTE_DROPS(X) \
  NFVGW_VXLAN_DROPS(X) \
  NFVGW_VPC_DROPS(X)   \
  NFVGW_ACL_DROPS(X)   \
  NFVGW_SG_DROPS(X)    \
  NFVGW_CONNTRACK_DROPS(X) \
  NFVGW_NAT_DROPS(X) \
  NFVGW_LB_DROPS(X)
#define NFVGW_EVENTS(X) \
  NFVGW_IO_EVENTS(X)    \
  NFVGW_PARSE_EVENTS(X) \
  NFVGW_ARP_EVENTS(X)   \
  NFVGW_ICMP_EVENTS(X)  \
  NFVGW_ROUTE_EVENTS(X) \
  NFVGW_VXLAN_EVENTS(X) \
  NFVGW_VPC_EVENTS(X)   \
  NFVGW_ACL_EVENTS(X)   \
  NFVGW_SG_EVENTS(X)    \
  NFVGW_CONNTRACK_EVENTS(X) \
  NFVGW_NAT_EVENTS(X) \
  NFVGW_LB_EVENTS(X)
// clang-format on

namespace nfvgw {

enum class Drop : uint16_t {
#define X(name, help) name,
  NFVGW_DROPS(X)
#undef X
};
enum class Event : uint16_t {
#define X(name, help) name,
  NFVGW_EVENTS(X)
#undef X
};

inline constexpr const char* kDropNames[] = {
#define X(name, help) #name,
    NFVGW_DROPS(X)
#undef X
};
inline constexpr const char* kDropHelp[] = {
#define X(name, help) help,
    NFVGW_DROPS(X)
#undef X
};
inline constexpr const char* kEventNames[] = {
#define X(name, help) #name,
    NFVGW_EVENTS(X)
#undef X
};
inline constexpr const char* kEventHelp[] = {
#define X(name, help) help,
    NFVGW_EVENTS(X)
#undef X
};

// A stage's result: a next step (>= 0) or a drop reason (< 0), so one int
// carries both and every drop has its counter.
inline constexpr int dropVerdict(Drop d) { return -1 - int(d); }
inline constexpr Drop verdictDrop(int v) { return Drop(-1 - v); }

inline constexpr uint32_t kDropCount = sizeof(kDropNames) / sizeof(kDropNames[0]);
inline constexpr uint32_t kEventCount = sizeof(kEventNames) / sizeof(kEventNames[0]);

}  // namespace nfvgw
