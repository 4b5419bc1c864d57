// Drop reasons and events of the load balancer. X(name, help); see
// core/drops.h.
#pragma once

#define NFVGW_LB_DROPS(X)                                                                                       \
  X(lb_not_service_port, "packet to a VIP for a protocol or port no service of it serves")                      \
  X(lb_no_backend, "new connection to a service with no healthy backend with a weight")                         \
  X(lb_no_connection, "packet to a load balancer address that starts no connection (a RST, to a local IP)")     \
  X(lb_untranslatable, "packet to a VIP that names no connection (fragment, ICMP other than echo)")             \
  X(lb_backend_unreachable, "backend not on a subnet of a port (direct routing) or with no route (the others)") \
  X(lb_fullnat_port_exhausted, "new FULLNAT connection with no local port free towards its backend")            \
  X(lb_no_headroom, "packet to a tunnel-mode service without room in its buffer for the outer header")

#define NFVGW_LB_EVENTS(X)                                                   \
  X(lb_connection_created, "connections a service scheduled onto a backend") \
  X(lb_forwarded, "packets sent to a backend")                               \
  X(lb_replied, "replies of backends translated back to the client (nat, fullnat)")
