// Drop reasons and events of VXLAN decapsulation and encapsulation.
// X(name, help); see core/drops.h.
#pragma once

#define NFVGW_VXLAN_DROPS(X)                                                      \
  X(vxlan_truncated, "VXLAN packet shorter than its UDP, VXLAN or inner headers") \
  X(vxlan_fragmented, "VXLAN packet arriving as an IP fragment")                  \
  X(vxlan_bad_flags, "VXLAN header without the I flag (no valid VNI)")            \
  X(vxlan_unknown_vni, "VXLAN network identifier of no VPC")

#define NFVGW_VXLAN_EVENTS(X)                                     \
  X(vxlan_decapsulated, "VXLAN packets received for the gateway") \
  X(vxlan_encapsulated, "VXLAN packets sent")
