// The L4 load balancer: a service (a VIP, a protocol, a port) spreads new
// connections over its backends with a scheduler, and the connection table
// keeps every connection on the backend it got, whatever changes later in
// the configuration. Four ways to reach the backend (LVS's and Katran's):
//
//  - dr (direct routing): only the destination MAC changes; the backend,
//    on a subnet of one of the gateway's ports (or an ENI of the VPC of an
//    internal service, nf/vpc/overlay.cc), holds the VIP on its loopback
//    and answers the client directly.
//  - tunnel: IP-in-IP to the backend (inside the VXLAN frame for an
//    internal service), which decapsulates and answers the client directly.
//  - nat: the destination becomes the backend; the replies come back
//    through the gateway (the backends route to it) and leave with the VIP
//    as their source.
//  - fullnat: the source becomes one of the service's local addresses too,
//    so the backends need no route back to the clients.
//
// The connection's reply key says which: for nat and fullnat it is what
// the backend's replies carry (to the client, or to the local address and
// port), for dr and tunnel it is in a zone no packet has (kZoneLbDr,
// kZoneLbTunnel) and only names the backend. A packet of a known
// connection so needs no service lookup at all.
#pragma once

#include "dataplane/l3_ctx.h"
#include "nf/lb/lb_tables.h"

namespace nfvgw {

// Checked IPv4 packets to a VIP or a local address of a fullnat service
// (their route says kLoadBalancer), a burst's worth. Consumes them.
void lbInput(L3Ctx& c, Pkt* const* pkts, uint32_t n);
// The same for one packet.
void lbInput(L3Ctx& c, Pkt& p);

// A backend for a new connection `k` of service `s` (whose pick is not
// empty): the one of the client's session affinity, when the service has it
// and it is still there, else by the service's scheduler.
const LbBackend& lbSchedule(L3Ctx& c, const LbService& s, const FlowKey& k);

// A local port on `local` towards `backend`:`bport` for a new fullnat
// connection `k` whose reply key is in `zone`: free when no connection's
// reply key has it. Starts from a point that depends on the client's
// endpoint and probes onwards; false after 64 taken (the caller counts the
// drop). Two workers taking the same port for two clients in the same
// instant is not excluded (the later connection's replies would meet the
// earlier one).
bool lbFullnatPort(L3Ctx& c, uint32_t zone, const FlowKey& k, uint32_t local, uint32_t backend, uint16_t bport,
                   uint16_t* port);

// erredConnection() (nf/conntrack/flow.h) when the connection is a
// load-balanced one, else empty.
ConnHit lbErredConnection(L3Ctx& c, const uint8_t* l3, uint32_t total, uint32_t zone);

// Makes an ICMP error about a packet of a nat or fullnat connection (at
// `l3`, IPv4 total length `total`, the quoted header and 8 bytes after it
// there) the one its receiver expects, `to` being the key of that
// receiver's packets (the connection's other key): the quoted packet
// becomes the one the receiver sent, from to's source to its destination;
// the error goes to to's source, and comes from to's destination when
// `from_peer` (else its source stays). Every checksum is kept right.
void lbRewriteError(uint8_t* l3, uint32_t total, const FlowKey& to, bool from_peer);

// A packet from a backend of a nat-mode service: when it is the reply of a
// load-balanced connection, translates it back and forwards it (true);
// otherwise leaves it alone (false: it is the backend's own traffic).
bool lbReply(L3Ctx& c, Pkt& p);

}  // namespace nfvgw
