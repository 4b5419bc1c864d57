// What the gateway needs to know about a network interface, asked of the
// kernel with ioctls in the current network namespace (never through /sys,
// which shows the namespace it was mounted in).
#pragma once

#include <cstdint>
#include <string>

namespace nfvgw {

struct NetDevInfo {
  std::string name;
  int ifindex = 0;
  uint8_t mac[6] = {};
  uint32_t mtu = 0;
  uint32_t rx_queues = 1;  // channels the driver reports (rx or combined)
  uint32_t tx_queues = 1;
  bool up = false;
};

// Throws Error(kPortOpen) when the interface does not exist.
NetDevInfo queryNetDev(const std::string& ifname);

}  // namespace nfvgw
