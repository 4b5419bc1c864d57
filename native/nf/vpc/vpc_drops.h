// Drop reasons and events of VPC routing in the overlay. X(name, help); see
// core/drops.h.
#pragma once

#define NFVGW_VPC_DROPS(X)                                                                                  \
  X(overlay_inner_vlan, "inner frame with an 802.1Q tag (VPCs carry untagged frames)")                      \
  X(overlay_spoofed, "source MAC, IP or VTEP that is not the ENI's (anti-spoofing)")                        \
  X(overlay_unknown_destination, "inner destination MAC of no ENI in the source's subnet")                  \
  X(overlay_broadcast, "inner broadcast or multicast other than ARP")                                       \
  X(overlay_no_route, "no route in the subnet's route table (ICMP net unreachable sent)")                   \
  X(overlay_blackhole, "route to a blackhole")                                                              \
  X(overlay_no_eni, "routed to an address no ENI holds (ICMP host unreachable sent)")                       \
  X(overlay_eni_detached, "destination ENI attached to no hypervisor")                                      \
  X(overlay_mtu_exceeded, "too large for the underlay once encapsulated (ICMP fragmentation needed if DF)") \
  X(overlay_arp_unknown, "ARP for an address the gateway does not answer for")

#define NFVGW_VPC_EVENTS(X)                                                          \
  X(overlay_arp_reply_sent, "ARP replies for subnet gateways and ENIs (proxy ARP)")  \
  X(overlay_routed, "packets routed between subnets, peerings and transit gateways") \
  X(overlay_switched, "packets switched within a subnet")                            \
  X(overlay_icmp_error_sent, "ICMP errors sent to VMs")
