// Drop reasons and events of IPv4 forwarding. X(name, help); see core/drops.h.
#pragma once

#define NFVGW_ROUTE_DROPS(X)                                                                      \
  X(ip4_ttl_expired, "TTL ran out (ICMP time exceeded sent)")                                     \
  X(ip4_no_route, "no route to the destination (ICMP net unreachable sent)")                      \
  X(ip4_blackhole, "route of type blackhole")                                                     \
  X(ip4_unreachable, "route of type unreachable (ICMP host unreachable sent)")                    \
  X(ip4_mtu_exceeded, "larger than the output port's MTU (ICMP fragmentation needed sent if DF)") \
  X(ip4_martian_destination, "destination that is never forwarded (0/8, 127/8, class D/E, broadcast)")

#define NFVGW_ROUTE_EVENTS(X) X(ip4_forwarded, "IPv4 packets forwarded")
