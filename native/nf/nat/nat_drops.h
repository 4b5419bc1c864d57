#pragma once

#define NFVGW_NAT_DROPS(X)                                                                                 \
  X(nat_port_exhausted, "new connection through a NAT gateway with no public port left (per public IP)")   \
  X(nat_no_connection, "packet to a NAT gateway's public address that belongs to no connection")           \
  X(nat_address_taken,                                                                                     \
    "new connection of a protocol without ports (GRE, ESP) to a remote address another inside address "    \
    "already reaches through the same public address")                                                     \
  X(nat_untranslatable, "packet to or from the internet that cannot be translated (fragment, other ICMP)") \
  X(igw_no_public_ip, "packet routed to the internet gateway from an address with no elastic IP")          \
  X(internet_no_headroom, "packet from the internet without room in its buffer for the VXLAN headers")

#define NFVGW_NAT_EVENTS(X)                                                        \
  X(nat_mapping_created, "NAT mappings made (an inside endpoint to a public one)") \
  X(nat_mapping_removed, "NAT mappings removed after their last connection")       \
  X(nat_to_internet, "packets translated and sent to the internet")                \
  X(nat_from_internet, "packets from the internet translated and sent into a VPC")
