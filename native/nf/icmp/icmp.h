// The gateway's own ICMP: echo replies for its addresses, and the errors
// forwarding needs (time exceeded, destination unreachable, fragmentation
// needed) so that traceroute and path-MTU discovery work through it.
#pragma once

#include <cstdint>

#include "dataplane/l3_ctx.h"

namespace nfvgw {

// An ICMP packet for one of the gateway's addresses (IPv4 header already
// checked): answers echo requests, drops the rest. Consumes p.
void icmpLocalInput(L3Ctx& c, Pkt& p);

// Sends an ICMP error about `orig` (not consumed) back to its source, from
// the receiving port's address, quoting as much of the original as fits in
// 576 bytes (RFC 1812 4.3.2.3). Sends nothing about ICMP errors, non-first
// fragments or when the rate limit says no (RFC 1122 3.2.2).
// `mtu` is the next-hop MTU of a fragmentation-needed error, 0 otherwise.
void icmpSendError(L3Ctx& c, const Pkt& orig, uint8_t type, uint8_t code, uint16_t mtu);

// The parts icmpSendError is made of, for the overlay's errors as well:
// whether an error may be sent about `orig` at all (not about an ICMP error,
// not about a non-first fragment; the rate limit included), and writing the
// error's IPv4 header, ICMP header and quote at `l3`. Returns the IP length.
bool icmpErrorAllowed(L3Ctx& c, const Pkt& orig);
uint32_t icmpWriteError(uint8_t* l3, const Pkt& orig, uint32_t src, uint8_t type, uint8_t code, uint16_t mtu);

}  // namespace nfvgw
