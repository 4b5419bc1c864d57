// The packet descriptor that moves through a worker: where the frame is, how
// long it is, where it came from and what the parser found. 32 bytes, so a
// burst of 64 fits in 32 cache lines.
#pragma once

#include <cstdint>

namespace nfvgw {

// Buffers are fixed-size frames in the worker's pool (the AF_XDP UMEM).
inline constexpr uint32_t kFrameSize = 2048;
// Room in front of the data for headers we push (VLAN tags, encapsulation);
// also what the kernel leaves in front of AF_XDP RX data (XDP_PACKET_HEADROOM).
inline constexpr uint32_t kFrameHeadroom = 256;
inline constexpr uint32_t kFrameDataMax = kFrameSize - kFrameHeadroom;

inline constexpr uint32_t kMaxBurst = 64;

struct Pkt {
  uint8_t* data;   // first byte of the Ethernet header
  uint64_t addr;   // pool offset of data[0]; the frame is addr & ~(kFrameSize - 1)
  uint32_t len;    // frame length in bytes
  uint16_t port;   // receiving port index
  uint8_t l2_len;  // 14, or 18 with an 802.1Q tag (set by the parser)
  uint8_t l3_len;  // IPv4 header length (set by the parser)
  uint16_t vlan;   // VLAN id of the received tag, 0 when untagged
  uint16_t ethertype;
  // A packet trace's session when this packet is traced, else 0 (core/tap.h);
  // set for every packet of a burst while a trace is armed. The initializer
  // keeps it 0 in descriptors made for frames the gateway builds.
  uint8_t traced = 0;
  uint8_t pad_ = 0;
  uint16_t trace_slot;  // the trace slot, in the area of the worker processing it

  uint8_t* l3() const { return data + l2_len; }
  uint32_t headroom() const { return uint32_t(addr & (kFrameSize - 1)); }
};

static_assert(sizeof(Pkt) == 32, "Pkt should stay at 32 bytes");

// What transmission needs of a packet. The TX batches hold these rather
// than whole descriptors: copying a Pkt whose fields were just written one by
// one (the L2 rewrite) reads them back with wide loads that cannot be
// forwarded from the narrow stores, a stall on every forwarded packet.
struct TxFrame {
  uint8_t* data;
  uint64_t addr;
  uint32_t len;
};

}  // namespace nfvgw
