// Drop reasons of the Ethernet and IPv4 header checks. X(name, help); see
// core/drops.h.
#pragma once

#define NFVGW_PARSE_DROPS(X)                                                                      \
  X(eth_truncated, "frame shorter than an Ethernet header")                                       \
  X(frame_too_long, "frame longer than the port's MTU allows")                                    \
  X(l2_not_for_us, "unicast destination MAC is not the port's")                                   \
  X(l2_multicast, "multicast destination MAC")                                                    \
  X(vlan_mismatch, "802.1Q tag missing, unexpected, or for another VLAN")                         \
  X(unknown_ethertype, "EtherType the gateway does not handle")                                   \
  X(ip4_truncated, "IPv4 header or payload shorter than its length fields say")                   \
  X(ip4_bad_version, "IP version field is not 4")                                                 \
  X(ip4_bad_ihl, "IPv4 header length below 20 bytes")                                             \
  X(ip4_bad_length, "IPv4 total length smaller than its header")                                  \
  X(ip4_bad_checksum, "IPv4 header checksum is wrong")                                            \
  X(ip4_martian_source, "source address that may not appear on the wire (0/8, 127/8, class D/E)") \
  X(l4_truncated, "TCP or UDP header cut short, or a UDP length that does not fit the packet")

#define NFVGW_PARSE_EVENTS(X)
