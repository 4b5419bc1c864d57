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
// (as stored), with the header checksum; returns the change (csumDelta32)
// for a checksum whose pseudo-header has the address too (TCP, UDP).
inline uint32_t replaceAddress(Ip4Hdr* ip, bool source, uint32_t new_ip) {
  const uint32_t old_ip = source ? ip->src : ip->dst;
  if (source)
    ip->src = new_ip;
  else
    ip->dst = new_ip;
  const uint32_t delta = csumDelta32(old_ip, new_ip);
  ip->csum = csumApply(ip->csum, delta);
  return delta;
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
  // The address's change, summed once for both checksums it is in.
  const uint32_t delta = replaceAddress(ip, source, new_ip);
  uint16_t old_port;
  if (ip->proto == kIpProtoTcp || ip->proto == kIpProtoUdp) {
    uint8_t* port = l4 + (source ? 0 : 2);
    std::memcpy(&old_port, port, 2);
    std::memcpy(port, &new_port, 2);
    uint8_t* sum = l4 + (ip->proto == kIpProtoTcp ? 16 : 6);
    uint16_t check;
    std::memcpy(&check, sum, 2);
    if (ip->proto == kIpProtoUdp && check == 0) return;
    check = csumApply(check, delta + csumDelta16(old_port, new_port));
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

// The outer IPv4 header of IP-in-IP (RFC 2003) at `o`, in front of the
// packet `in` (`total` bytes), from `src` to `dst` (host order): TOS and DF
// copied, TTL 64, no options, its checksum.
inline void writeIpipHeader(Ip4Hdr* o, const Ip4Hdr* in, uint32_t total, uint32_t src, uint32_t dst) {
  o->ver_ihl = 0x45;
  o->tos = in->tos;
  o->total_len = be16(uint16_t(total + sizeof(Ip4Hdr)));
  o->id = 0;
  o->frag_off = in->frag_off & be16(kIp4FlagDf);
  o->ttl = 64;
  o->proto = kIpProtoIpip;
  o->csum = 0;
  o->src = be32(src);
  o->dst = be32(dst);
  o->csum = ip4HeaderCsum(o, sizeof(Ip4Hdr));
}

// Replaces the 16-bit word at `at`, inside an ICMP message whose checksum
// is at `icmp_sum`, keeping that checksum right.
inline void icmpReplaceWord(uint8_t* at, uint16_t value, uint8_t* icmp_sum) {
  uint16_t old, check;
  std::memcpy(&old, at, 2);
  std::memcpy(at, &value, 2);
  std::memcpy(&check, icmp_sum, 2);
  check = csumReplace16(check, old, value);
  std::memcpy(icmp_sum, &check, 2);
}

// rewriteEndpoint() for the packet an ICMP error quotes (the error's IPv4
// header at `l3`, its ICMP header after it, the quoted IPv4 header 8 bytes
// on): the quoted source (or destination) address and port, or echo
// identifier, with the quoted IPv4 checksum, the quoted UDP checksum (a
// zero one stays zero) and the quoted TCP checksum when the error quotes
// that far, and the error's ICMP checksum over all of it. The outer
// addresses are the caller's. The caller checked that the quoted IPv4
// header and 8 bytes after it are there (`total`: the error's IPv4 total
// length). Host order.
inline void rewriteQuotedEndpoint(uint8_t* l3, uint32_t total, bool source, uint32_t ip_host, uint16_t port_host) {
  const uint32_t ihl = reinterpret_cast<const Ip4Hdr*>(l3)->headerLen();
  uint8_t* sum = l3 + ihl + 2;
  uint8_t* quoted = l3 + ihl + 8;
  const Ip4Hdr* qip = reinterpret_cast<const Ip4Hdr*>(quoted);
  const uint32_t qihl = qip->headerLen();
  uint8_t* ql4 = quoted + qihl;
  const uint32_t ql4_len = total - ihl - 8 - qihl;
  const uint32_t new_ip = be32(ip_host);
  const uint16_t new_port = be16(port_host);
  uint32_t old_ip;
  const uint32_t at = source ? 12 : 16;
  std::memcpy(&old_ip, quoted + at, 4);
  if (old_ip != new_ip) {
    const uint16_t qsum = csumReplace32(qip->csum, old_ip, new_ip);
    icmpReplaceWord(quoted + at, uint16_t(new_ip), sum);
    icmpReplaceWord(quoted + at + 2, uint16_t(new_ip >> 16), sum);
    icmpReplaceWord(quoted + 10, qsum, sum);
  }
  uint16_t old_port;
  if (qip->proto == kIpProtoTcp || qip->proto == kIpProtoUdp) {
    std::memcpy(&old_port, ql4 + (source ? 0 : 2), 2);
    icmpReplaceWord(ql4 + (source ? 0 : 2), new_port, sum);
    const uint32_t sum_at = qip->proto == kIpProtoTcp ? 16 : 6;
    if (ql4_len < sum_at + 2) return;
    uint16_t l4sum;
    std::memcpy(&l4sum, ql4 + sum_at, 2);
    if (qip->proto == kIpProtoUdp && l4sum == 0) return;
    l4sum = csumReplace16(csumReplace32(l4sum, old_ip, new_ip), old_port, new_port);
    if (qip->proto == kIpProtoUdp && l4sum == 0) l4sum = 0xffff;
    icmpReplaceWord(ql4 + sum_at, l4sum, sum);
  } else if (qip->proto == kIpProtoIcmp) {
    // The identifier is the request's source port, the reply's destination
    // port (as in flowOf); only it is in the quoted echo's checksum.
    if ((ql4[0] == kIcmpEchoRequest) != source) return;
    std::memcpy(&old_port, ql4 + 4, 2);
    icmpReplaceWord(ql4 + 4, new_port, sum);
    uint16_t esum;
    std::memcpy(&esum, ql4 + 2, 2);
    icmpReplaceWord(ql4 + 2, csumReplace16(esum, old_port, new_port), sum);
  }
}

}  // namespace nfvgw
