#pragma once

#define NFVGW_CONNTRACK_DROPS(X) \
  X(conntrack_full, "new connection while the connection table is full (existing ones go on)")

#define NFVGW_CONNTRACK_EVENTS(X)                                          \
  X(conntrack_created, "connections tracked")                              \
  X(conntrack_removed, "connections removed (expired, closed or flushed)") \
  X(conntrack_untracked, "packets between ENIs whose groups allow everything both ways (no state kept)")
