// Wire formats the pipeline reads and writes. Fields are in network byte
// order; use be16()/be32() to convert. All structs are packed and may sit at
// any alignment inside a frame, so access them through these types only.
#pragma once

#include <cstdint>
#include <cstring>

namespace nfvgw {

inline constexpr uint16_t be16(uint16_t v) { return __builtin_bswap16(v); }
inline constexpr uint32_t be32(uint32_t v) { return __builtin_bswap32(v); }

using MacAddr = uint8_t[6];

inline constexpr uint16_t kEthP_Ip4 = 0x0800;
inline constexpr uint16_t kEthP_Arp = 0x0806;
inline constexpr uint16_t kEthP_Vlan = 0x8100;
inline constexpr uint16_t kEthP_Ip6 = 0x86dd;

struct __attribute__((packed)) EthHdr {
  uint8_t dst[6];
  uint8_t src[6];
  uint16_t type;
};

struct __attribute__((packed)) VlanTag {
  uint16_t tci;
  uint16_t type;
};

inline constexpr uint16_t kArpOpRequest = 1;
inline constexpr uint16_t kArpOpReply = 2;

struct __attribute__((packed)) ArpHdr {
  uint16_t htype;
  uint16_t ptype;
  uint8_t hlen;
  uint8_t plen;
  uint16_t op;
  uint8_t sha[6];
  uint32_t spa;
  uint8_t tha[6];
  uint32_t tpa;
};

inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoIpip = 4;  // IPv4 in IPv4 (RFC 2003)

inline constexpr uint16_t kIp4FlagDf = 0x4000;
inline constexpr uint16_t kIp4FlagMf = 0x2000;
inline constexpr uint16_t kIp4FragOffsetMask = 0x1fff;

struct __attribute__((packed)) Ip4Hdr {
  uint8_t ver_ihl;
  uint8_t tos;
  uint16_t total_len;
  uint16_t id;
  uint16_t frag_off;
  uint8_t ttl;
  uint8_t proto;
  uint16_t csum;
  uint32_t src;
  uint32_t dst;

  uint32_t headerLen() const { return uint32_t(ver_ihl & 0x0f) * 4; }
};
inline constexpr uint32_t kIpipOverhead = sizeof(Ip4Hdr);  // IP-in-IP's outer header

inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpDestUnreach = 3;
inline constexpr uint8_t kIcmpEchoRequest = 8;
inline constexpr uint8_t kIcmpTimeExceeded = 11;
inline constexpr uint8_t kIcmpParamProblem = 12;

inline constexpr uint8_t kIcmpCodeNetUnreach = 0;
inline constexpr uint8_t kIcmpCodeHostUnreach = 1;
inline constexpr uint8_t kIcmpCodePortUnreach = 3;
inline constexpr uint8_t kIcmpCodeFragNeeded = 4;
inline constexpr uint8_t kIcmpCodeAdminProhibited = 13;
inline constexpr uint8_t kIcmpCodeTtlExceeded = 0;

struct __attribute__((packed)) IcmpHdr {
  uint8_t type;
  uint8_t code;
  uint16_t csum;
  uint16_t id;   // echo: identifier; frag-needed: unused
  uint16_t seq;  // echo: sequence; frag-needed: next-hop MTU
};

struct __attribute__((packed)) UdpHdr {
  uint16_t sport;
  uint16_t dport;
  uint16_t len;
  uint16_t csum;
};

struct __attribute__((packed)) TcpHdr {
  uint16_t sport;
  uint16_t dport;
  uint32_t seq;
  uint32_t ack;
  uint8_t off_res;
  uint8_t flags;
  uint16_t window;
  uint16_t csum;
  uint16_t urg;
};

inline bool macIsBroadcast(const uint8_t* m) { return (m[0] & m[1] & m[2] & m[3] & m[4] & m[5]) == 0xff; }
inline bool macIsMulticast(const uint8_t* m) { return (m[0] & 1) != 0; }
inline bool macEqual(const uint8_t* a, const uint8_t* b) { return std::memcmp(a, b, 6) == 0; }
inline void macCopy(uint8_t* dst, const uint8_t* src) { std::memcpy(dst, src, 6); }

}  // namespace nfvgw
