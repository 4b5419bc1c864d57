#pragma once

#define NFVGW_SG_DROPS(X)                                                                    \
  X(sg_outbound_denied, "new connection no outbound rule of the source ENI's groups allows") \
  X(sg_inbound_denied, "new connection no inbound rule of the destination ENI's groups allows")

#define NFVGW_SG_EVENTS(X)
