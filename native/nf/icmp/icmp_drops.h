// Drop reasons and events of the gateway's own ICMP. X(name, help); see
// core/drops.h.
#pragma once

#define NFVGW_ICMP_DROPS(X)                                 \
  X(icmp_truncated, "ICMP message shorter than its header") \
  X(icmp_bad_checksum, "ICMP checksum is wrong")            \
  X(local_unsupported, "packet for a gateway address that no function serves (UDP gets port unreachable)")

#define NFVGW_ICMP_EVENTS(X)                                                                \
  X(icmp_echo_reply_sent, "ICMP echo replies sent for the gateway's addresses")             \
  X(icmp_error_sent, "ICMP errors sent (time exceeded, unreachable, fragmentation needed)") \
  X(icmp_error_ratelimited, "ICMP errors not sent because of the rate limit")
