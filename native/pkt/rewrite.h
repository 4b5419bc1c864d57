// Rewriting the addresses and ports of an IPv4 packet in place, with every
// checksum kept right incrementally (RFC 1624): what NAT and the load
// balancer's NAT modes do to each packet.
#pragma once

#include <cstdint>
#include <cstring>

#include "pkt/checksum.h"
#include "pkt/headers.h"

namespace nfvgw {

// Sets the source (or destination) address of an IPv4 header to `new_ip`
// (as stored), with the header checksum; returns the old one.
inline uint32_t replaceAddress(Ip4Hdr* ip, bool source, uint32_t new_ip) {
  const uint32_t old_ip = source ? ip->src : ip->dst;
  if (source)
    ip->src = new_ip;
  else
    ip->dst = new_ip;
  ip->csum = csumReplace32(ip->csum, old_ip, new_ip);
  return old_ip;
}

// Rewrites an address and a port of an IPv4 packet (the source when
// `source`, else the destination), with the IPv4, TCP, UDP (a zero UDP
// checksum stays zero) and ICMP echo checksums. ICMP echo carries its
// identifier where a connection key has the request's source port or the
// reply's destination port. Host order.
inline void rewriteEndpoint(uint8_t* l3, bool source, uint32_t ip_host, uint16_t port_host) {
  Ip4Hdr* ip = reinterpret_cast<Ip4Hdr*>(l3);
  uint8_t* l4 = l3 + ip->headerLen();
  const uint32_t new_ip = be32(ip_host);
  const uint16_t new_port = be16(port_host);
  const uint32_t old_ip = replaceAddress(ip, source, new_ip);
  uint16_t old_port;
  if (ip->proto == kIpProtoTcp || ip->proto == kIpProtoUdp) {
    uint8_t* port = l4 + (source ? 0 : 2);
    std::memcpy(&old_port, port, 2);
    std::memcpy(port, &new_port, 2);
    uint8_t* sum = l4 + (ip->proto == kIpProtoTcp ? 16 : 6);
    uint16_t check;
    std::memcpy(&check, sum, 2);
    if (ip->proto == kIpProtoUdp && check == 0) return;
    check = csumReplace16(csumReplace32(check, old_ip, new_ip), old_port, new_port);
    if (ip->proto == kIpProtoUdp && check == 0) check = 0xffff;
    std::memcpy(sum, &check, 2);
  } else if (ip->proto == kIpProtoIcmp) {
    // Only the identifier is in the ICMP checksum (no pseudo-header).
    const bool request = l4[0] == kIcmpEchoRequest;
    if (request != source) return;  // the identifier is the other side's port
    std::memcpy(&old_port, l4 + 4, 2);
    std::memcpy(l4 + 4, &new_port, 2);
    uint16_t check;
    std::memcpy(&check, l4 + 2, 2);
    check = csumReplace16(check, old_port, new_port);
    std::memcpy(l4 + 2, &check, 2);
  }
}

}  // namespace nfvgw
