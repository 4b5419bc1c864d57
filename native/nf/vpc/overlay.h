// The gateway as the VXLAN hub and router of its VPCs.
//
// A VXLAN packet from a hypervisor (VTEP) to the gateway's VTEP address is
// decapsulated; its VNI names the VPC. Anti-spoofing: the (VTEP, VNI, inner
// source MAC) must be a known ENI, and the inner source IP one of its
// addresses. ARP for a subnet gateway or an ENI is answered (proxy ARP: VMs
// need no flooding). A frame to another ENI's MAC is switched within the
// subnet; one to the router MAC is routed by the source subnet's route
// table: locally in the VPC, across a peering, through a transit gateway, or
// to an appliance ENI, through the network ACLs of the subnet it leaves and
// the one it enters. The result is encapsulated again, in place, towards the
// destination ENI's VTEP.
#pragma once

#include "dataplane/l3_ctx.h"
#include "pkt/headers.h"

namespace nfvgw {

// Checked IPv4 packets (pkt/parse.h) on the underlay port, UDP to the
// gateway's VTEP address and VXLAN port: `n` of them, at most a burst.
// Consumes them.
void overlayInput(L3Ctx& c, Pkt* const* pkts, uint32_t n);

// The inner frame of a VXLAN packet as a descriptor of its own (same buffer).
inline Pkt innerView(const Pkt& p, uint8_t* inner, uint32_t len) {
  Pkt in = p;
  in.data = inner;
  in.addr = uint64_t(int64_t(p.addr) + (inner - p.data));
  in.len = len;
  in.l2_len = sizeof(EthHdr);
  in.l3_len = 0;
  in.vlan = 0;
  in.ethertype = 0;
  return in;
}

// Encapsulates the inner frame `in` (in p's buffer, with room for the
// outer headers in front of it) towards `dst`'s VTEP with `vni` and sends
// it. Consumes p.
void encapsulate(L3Ctx& c, Pkt& p, const Pkt& in, const Eni& dst, uint32_t vni);

}  // namespace nfvgw
