// The VPCs' way to the internet: NAT gateways (source NAT with port
// translation, endpoint-independent mappings per RFC 4787, paired pooling)
// and elastic IPs (1:1, no port translation), both stateful through the
// connection table, whose two keys carry the translation: a packet found by
// one key leaves with the addresses of the other, reversed. The internet
// side is a port of the gateway (the uplink); what goes out there is
// routed by the gateway's own route table.
#pragma once

#include "dataplane/l3_ctx.h"
#include "nf/conntrack/conntrack.h"
#include "nf/vpc/vpc_tables.h"

namespace nfvgw {

// A packet of ENI `src` (its inner frame `in`, in p's buffer; TTL already
// decremented, network ACL passed) whose route leads to a NAT gateway or
// the internet gateway (`t`); `k` is its connection key when `keyed`, in
// the connection table's `bucket` (ConnTable::bucket). Translates it and
// sends it out of the uplink. Consumes p.
void natEgress(L3Ctx& c, Pkt& p, Pkt& in, const Eni& src, const OverlayTarget& t, const FlowKey& k, uint32_t bucket,
               bool keyed, uint8_t tcp_flags);

// An ICMP error (at l3, `total` bytes) about a packet of a translated
// connection whose keys are in `zone`: coming in (`out` false: about a
// packet that left translated; the destination and the quoted source
// become the inside endpoint) or going out (`out` true: about a packet that
// came in translated; the source and the quoted destination become the
// outside endpoint), every checksum kept right. False when the quoted
// packet names no connection; else sets the other key's zone (`vni`) and
// the new address (`addr`, host order). Also the load balancer's, for its
// nat mode.
bool natTranslateError(L3Ctx& c, uint8_t* l3, uint32_t total, uint32_t zone, bool out, uint32_t* vni, uint32_t* addr);

// A checked IPv4 packet on the uplink port to one of the public addresses:
// translated back and sent, in VXLAN, to the ENI it is for. Consumes p.
void natIngress(L3Ctx& c, Pkt& p);

}  // namespace nfvgw
