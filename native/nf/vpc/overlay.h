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

namespace nfvgw {

// Checked IPv4 packets (pkt/parse.h) on the underlay port, UDP to the
// gateway's VTEP address and VXLAN port: `n` of them, at most a burst.
// Consumes them.
void overlayInput(L3Ctx& c, Pkt* const* pkts, uint32_t n);

}  // namespace nfvgw
