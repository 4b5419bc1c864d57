// Drop reasons and events of ARP and neighbor resolution. X(name, help); see
// core/drops.h.
#pragma once

#define NFVGW_ARP_DROPS(X)                                                                          \
  X(arp_malformed, "ARP packet too short, or not Ethernet/IPv4")                                    \
  X(arp_not_for_us, "ARP for an address that is not on the receiving port")                         \
  X(neighbor_unresolved, "next hop did not answer ARP in time, or too many packets waited for ARP") \
  X(neighbor_table_full, "neighbor table full, next hop cannot be resolved")

#define NFVGW_ARP_EVENTS(X)                                         \
  X(arp_reply_sent, "ARP replies sent for the gateway's addresses") \
  X(arp_request_sent, "ARP requests sent to resolve next hops")     \
  X(arp_received, "ARP packets for the gateway consumed")           \
  X(neighbor_learned, "neighbor entries created or changed by ARP") \
  X(neighbor_wait, "packets held while ARP resolved their next hop")
