// Drop reasons of the port I/O layer. X(name, help); see core/drops.h.
#pragma once

#define NFVGW_IO_DROPS(X)                                                        \
  X(rx_no_buffer, "no free frame in the worker's pool to receive into")          \
  X(rx_truncated, "frame longer than a receive buffer, truncated by the kernel") \
  X(tx_ring_full, "transmit ring full")                                          \
  X(tx_error, "transmit failed")

#define NFVGW_IO_EVENTS(X)
