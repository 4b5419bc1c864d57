// Drop reasons of the network ACLs. X(name, help); see core/drops.h.
#pragma once

#define NFVGW_ACL_DROPS(X)                                                    \
  X(acl_outbound_denied, "denied by the network ACL of the subnet it leaves") \
  X(acl_inbound_denied, "denied by the network ACL of the subnet it enters")

#define NFVGW_ACL_EVENTS(X)
