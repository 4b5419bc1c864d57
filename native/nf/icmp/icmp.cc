// Echo replies and ICMP errors; see icmp.h.
#include "nf/icmp/icmp.h"

#include <cstring>

#include "nf/route/ip4_forward.h"
#include "pkt/checksum.h"
#include "pkt/headers.h"

namespace nfvgw {

namespace {

constexpr uint32_t kIcmpErrorMax = 576;  // whole IP datagram, RFC 1812
constexpr uint8_t kTtlOwn = 64;

bool isQuery(uint8_t type) { return type == kIcmpEchoRequest || type == kIcmpEchoReply || type == 13 || type == 14; }

}  // namespace

void icmpLocalInput(L3Ctx& c, Pkt& p) {
  Ip4Hdr* ip = reinterpret_cast<Ip4Hdr*>(p.l3());
  if (be16(ip->frag_off) & (kIp4FlagMf | kIp4FragOffsetMask)) return c.w.drop(p, Drop::local_unsupported);
  uint32_t ihl = p.l3_len;
  uint32_t len = be16(ip->total_len) - ihl;
  if (len < sizeof(IcmpHdr)) return c.w.drop(p, Drop::icmp_truncated);
  IcmpHdr* icmp = reinterpret_cast<IcmpHdr*>(p.l3() + ihl);
  if (csum(icmp, len) != 0) return c.w.drop(p, Drop::icmp_bad_checksum);
  if (icmp->type != kIcmpEchoRequest || icmp->code != 0) return c.w.drop(p, Drop::local_unsupported);

  // Turn the request around in place. Swapping the addresses leaves the IP
  // checksum as it is; the type and TTL changes are incremental updates.
  uint16_t old_tc;
  std::memcpy(&old_tc, icmp, 2);
  uint16_t new_tc = uint16_t((old_tc & 0xff00) | kIcmpEchoReply);  // type: the low byte (little-endian)
  std::memcpy(icmp, &new_tc, 2);
  icmp->csum = csumReplace16(icmp->csum, old_tc, new_tc);
  uint32_t src = ip->src;
  ip->src = ip->dst;
  ip->dst = src;
  uint16_t old_tp;
  std::memcpy(&old_tp, &ip->ttl, 2);
  uint16_t new_tp = uint16_t((old_tp & 0xff00) | kTtlOwn);  // TTL: the low byte (little-endian)
  std::memcpy(&ip->ttl, &new_tp, 2);
  ip->csum = csumReplace16(ip->csum, old_tp, new_tp);
  c.w.stats.event(Event::icmp_echo_reply_sent);
  ip4Output(c, p);
}

bool icmpErrorAllowed(L3Ctx& c, const Pkt& orig) {
  const Ip4Hdr* oip = reinterpret_cast<const Ip4Hdr*>(orig.l3());
  if (be16(oip->frag_off) & kIp4FragOffsetMask) return false;
  if (oip->proto == kIpProtoIcmp) {
    uint32_t olen = be16(oip->total_len);
    if (olen < orig.l3_len + 1u || !isQuery(orig.l3()[orig.l3_len])) return false;
  }
  if (!c.icmp.allow(c.w.now_ns, c.s.icmp.errors_per_sec, c.s.icmp.burst)) {
    c.w.stats.event(Event::icmp_error_ratelimited);
    return false;
  }
  return true;
}

uint32_t icmpWriteError(uint8_t* l3, const Pkt& orig, uint32_t src, uint8_t type, uint8_t code, uint16_t mtu) {
  const Ip4Hdr* oip = reinterpret_cast<const Ip4Hdr*>(orig.l3());
  uint32_t quote = be16(oip->total_len);
  const uint32_t room = kIcmpErrorMax - sizeof(Ip4Hdr) - sizeof(IcmpHdr);
  if (quote > room) quote = room;
  Ip4Hdr* ip = reinterpret_cast<Ip4Hdr*>(l3);
  IcmpHdr* icmp = reinterpret_cast<IcmpHdr*>(ip + 1);
  const uint32_t total = sizeof(Ip4Hdr) + sizeof(IcmpHdr) + quote;
  ip->ver_ihl = 0x45;
  ip->tos = 0xc0;  // internetwork control, as Linux sends its ICMP errors
  ip->total_len = be16(uint16_t(total));
  ip->id = 0;
  ip->frag_off = 0;
  ip->ttl = kTtlOwn;
  ip->proto = kIpProtoIcmp;
  ip->csum = 0;
  ip->src = be32(src);
  ip->dst = oip->src;
  ip->csum = csum(ip, sizeof(Ip4Hdr));
  icmp->type = type;
  icmp->code = code;
  icmp->csum = 0;
  icmp->id = 0;
  icmp->seq = be16(mtu);
  std::memcpy(icmp + 1, oip, quote);
  icmp->csum = csum(icmp, sizeof(IcmpHdr) + quote);
  return total;
}

void icmpSendError(L3Ctx& c, const Pkt& orig, uint8_t type, uint8_t code, uint16_t mtu) {
  const uint32_t dst = be32(reinterpret_cast<const Ip4Hdr*>(orig.l3())->src);
  const uint32_t src = c.s.ports[orig.port].sourceFor(dst);
  if (src == 0 || !icmpErrorAllowed(c, orig)) return;
  Pkt q;
  if (!c.w.pool.allocPkt(&q, orig.port)) return;
  q.l2_len = sizeof(EthHdr);
  q.l3_len = sizeof(Ip4Hdr);
  q.len = sizeof(EthHdr) + icmpWriteError(q.data + sizeof(EthHdr), orig, src, type, code, mtu);
  c.w.stats.event(Event::icmp_error_sent);
  ip4Output(c, q);
}

}  // namespace nfvgw
