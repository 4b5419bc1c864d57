// Interface facts through ioctl(SIOCGIF*, SIOCETHTOOL); see netdev.h.
#include "io/netdev.h"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace nfvgw {

namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

void setName(ifreq* ifr, const std::string& name) {
  std::memset(ifr, 0, sizeof(*ifr));
  std::strncpy(ifr->ifr_name, name.c_str(), IFNAMSIZ - 1);
}

}  // namespace

NetDevInfo queryNetDev(const std::string& ifname) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ)
    throw Error(err::kPortOpen, "interface name '" + ifname + "' is empty or longer than 15 characters");
  Fd s{socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) throw Error(err::kPortOpen, "socket for interface queries", errno);
  NetDevInfo info;
  info.name = ifname;
  ifreq ifr;
  setName(&ifr, ifname);
  if (ioctl(s.fd, SIOCGIFINDEX, &ifr) != 0) throw Error(err::kPortOpen, "interface " + ifname + " not found", errno);
  info.ifindex = ifr.ifr_ifindex;
  setName(&ifr, ifname);
  if (ioctl(s.fd, SIOCGIFHWADDR, &ifr) != 0)
    throw Error(err::kPortOpen, "interface " + ifname + ": MAC address", errno);
  std::memcpy(info.mac, ifr.ifr_hwaddr.sa_data, 6);
  setName(&ifr, ifname);
  if (ioctl(s.fd, SIOCGIFMTU, &ifr) != 0) throw Error(err::kPortOpen, "interface " + ifname + ": MTU", errno);
  info.mtu = uint32_t(ifr.ifr_mtu);
  setName(&ifr, ifname);
  if (ioctl(s.fd, SIOCGIFFLAGS, &ifr) == 0) info.up = (ifr.ifr_flags & IFF_UP) != 0;

  ethtool_channels ch{};
  ch.cmd = ETHTOOL_GCHANNELS;
  setName(&ifr, ifname);
  ifr.ifr_data = reinterpret_cast<char*>(&ch);
  if (ioctl(s.fd, SIOCETHTOOL, &ifr) == 0) {
    info.rx_queues = std::max(1u, std::max(ch.rx_count, ch.combined_count));
    info.tx_queues = std::max(1u, std::max(ch.tx_count, ch.combined_count));
  }
  return info;
}

}  // namespace nfvgw
