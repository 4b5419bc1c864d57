// IPv4 forwarding: route lookup, local delivery, TTL, MTU, next-hop
// resolution and the rewrite for the output port.
#pragma once

#include "dataplane/l3_ctx.h"

namespace nfvgw {

// A received IPv4 packet whose header has been checked (pkt/parse.h):
// delivers it to the gateway, forwards it, or drops it with its reason and
// the ICMP error the kernel would send. Consumes p.
void ip4Input(L3Ctx& c, Pkt& p);

// A packet the gateway itself originates (echo reply, ICMP error): routes it
// and sends it without touching its TTL. Consumes p.
void ip4Output(L3Ctx& c, Pkt& p);

// Sends the packets waiting for ARP whose next hop has been resolved since,
// and drops those that waited past the retry interval. Once per iteration.
void neighborWaitService(L3Ctx& c);

}  // namespace nfvgw
