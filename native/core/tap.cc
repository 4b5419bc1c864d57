// Packet traces and captures; see tap.h.
#include "core/tap.h"

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/error.h"
#include "pkt/headers.h"

namespace nfvgw {

namespace {

// VXLAN: 8 bytes of UDP, 8 of VXLAN header, then the inner Ethernet frame.
constexpr uint32_t kVxlanInner = 16;

uint16_t load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return be16(v);
}

uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return be32(v);
}

// The IPv4 header of an Ethernet frame (one 802.1Q tag allowed), or null.
const uint8_t* ip4Of(const uint8_t* frame, uint32_t len, uint32_t* avail) {
  if (len < sizeof(EthHdr)) return nullptr;
  uint32_t off = 12;
  uint16_t type = load16(frame + off);
  if (type == kEthP_Vlan) {
    if (len < sizeof(EthHdr) + 4) return nullptr;
    off += 4;
    type = load16(frame + off);
  }
  off += 2;
  if (type != kEthP_Ip4 || len < off + sizeof(Ip4Hdr)) return nullptr;
  const uint8_t* l3 = frame + off;
  const uint32_t ihl = uint32_t(l3[0] & 0x0f) * 4;
  if ((l3[0] >> 4) != 4 || ihl < sizeof(Ip4Hdr) || len < off + ihl) return nullptr;
  *avail = len - off;
  return l3;
}

}  // namespace

bool TapFilter::matchesIp(const uint8_t* l3, uint32_t avail) const {
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(l3);
  if ((be32(ip->src) & src_mask) != src) return false;
  if ((be32(ip->dst) & dst_mask) != dst) return false;
  if (proto >= 0 && ip->proto != proto) return false;
  if (sport < 0 && dport < 0) return true;
  // Ports: TCP and UDP, first fragments only.
  const uint32_t ihl = ip->headerLen();
  if ((ip->proto != kIpProtoTcp && ip->proto != kIpProtoUdp) || (be16(ip->frag_off) & kIp4FragOffsetMask) ||
      avail < ihl + 4)
    return false;
  if (sport >= 0 && load16(l3 + ihl) != uint32_t(sport)) return false;
  if (dport >= 0 && load16(l3 + ihl + 2) != uint32_t(dport)) return false;
  return true;
}

bool TapFilter::matches(const uint8_t* frame, uint32_t len, uint16_t on_port) const {
  if (port >= 0 && on_port != uint32_t(port)) return false;
  const bool ip_criteria = hasIpCriteria();
  if (!ip_criteria && vni < 0) return true;
  uint32_t avail;
  const uint8_t* l3 = ip4Of(frame, len, &avail);
  if (!l3) return false;
  // The inner packet of a VXLAN frame.
  const Ip4Hdr* ip = reinterpret_cast<const Ip4Hdr*>(l3);
  const uint32_t ihl = ip->headerLen();
  const uint8_t* inner = nullptr;
  uint32_t inner_avail = 0;
  int64_t frame_vni = -1;
  if (ip->proto == kIpProtoUdp && !(be16(ip->frag_off) & (kIp4FlagMf | kIp4FragOffsetMask)) &&
      avail >= ihl + kVxlanInner && load16(l3 + ihl + 2) == vxlan_port && (l3[ihl + 8] & 0x08)) {
    frame_vni = load32(l3 + ihl + 12) >> 8;
    const uint32_t at = uint32_t(l3 - frame) + ihl + kVxlanInner;
    inner = ip4Of(frame + at, len - at, &inner_avail);
  }
  if (vni >= 0 && frame_vni != vni) return false;
  if (!ip_criteria) return true;
  return matchesIp(l3, avail) || (inner && matchesIp(inner, inner_avail));
}

Tap::Tap(Qsbr* qsbr, int workers) : qsbr_(qsbr) {
  for (int i = 0; i < workers; ++i) workers_.push_back(std::make_unique<TapWorker>());
}

// --- Worker side.

bool Tap::trace(TapWorker& w, Pkt& p) {
  if (!trace_filter_.matches(p.data, p.len, p.port)) return false;
  // A free slot first, so that a full area does not use up the count.
  TraceSlot* slot = nullptr;
  for (uint32_t i = 0; i < kTraceSlots; ++i) {
    TraceSlot& s = w.slots[(w.next_slot + i) % kTraceSlots];
    if (s.state.load(std::memory_order_acquire) == 0) {
      slot = &s;
      w.next_slot = (w.next_slot + i + 1) % kTraceSlots;
      break;
    }
  }
  if (!slot) {
    w.trace_missed.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (trace_budget_.fetch_sub(1, std::memory_order_relaxed) <= 0) return false;
  slot->state.store(1, std::memory_order_relaxed);
  slot->session = session_;
  slot->n = 0;
  slot->truncated = 0;
  slot->port = p.port;
  slot->len = p.len;
  slot->rx_ns = monoNs();
  slot->head_len = p.len < kTraceHead ? p.len : kTraceHead;
  std::memcpy(slot->head, p.data, slot->head_len);
  // The slot rides in the packet with the session (the worker's area is
  // the one of whoever processes it).
  p.traced = session_;
  p.trace_slot = uint16_t(slot - w.slots.get());
  return true;
}

void Tap::capture(TapWorker& w, const Pkt& p, uint16_t port, uint8_t dir) {
  if (!capture_filter_.matches(p.data, p.len, port)) return;
  if (capture_budget_.fetch_sub(1, std::memory_order_relaxed) <= 0) return;
  const uint32_t caplen = p.len < snaplen_ ? p.len : snaplen_;
  const uint64_t need = (sizeof(CaptureHdr) + caplen + 7) & ~uint64_t(7);
  uint64_t head = w.head.load(std::memory_order_relaxed);
  const uint64_t tail = w.tail.load(std::memory_order_acquire);
  const uint32_t size = w.ring_size;
  uint32_t pos = uint32_t(head & (size - 1));
  const uint32_t to_end = size - pos;
  const uint64_t skip = to_end < need ? to_end : 0;
  if (head + skip + need - tail > size) {
    w.cap_missed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (skip) {
    // Frames never wrap: the rest of the ring is marked unused (8-byte
    // alignment leaves room for the marker).
    uint32_t wrap = kCaptureWrap;
    std::memcpy(w.ring.get() + pos, &wrap, 4);
    head += skip;
    pos = 0;
  }
  CaptureHdr h{};
  h.caplen = caplen;
  h.origlen = p.len;
  h.ts_ns = monoNs();
  h.port = port;
  h.dir = dir;
  std::memcpy(w.ring.get() + pos, &h, sizeof(h));
  std::memcpy(w.ring.get() + pos + sizeof(h), p.data, caplen);
  w.captured.fetch_add(1, std::memory_order_relaxed);
  w.head.store(head + need, std::memory_order_release);
}

void Tap::received(TapWorker& w, uint32_t on, Pkt* pkts, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    Pkt& p = pkts[i];
    p.traced = 0;
    if (on & kCaptureRx) capture(w, p, p.port, 0);
    if (on & kTrace) trace(w, p);
  }
}

void Tap::record(TapWorker& w, uint32_t on, const Pkt& p, TraceKind k, uint32_t a, uint32_t b, uint32_t c) {
  if (!(on & kTrace) || p.traced != session_ || p.trace_slot >= kTraceSlots) return;
  TraceSlot& s = w.slots[p.trace_slot];
  if (s.state.load(std::memory_order_relaxed) != 1 || s.session != session_) return;
  const bool fate = k == TraceKind::sent || k == TraceKind::dropped || k == TraceKind::consumed;
  uint32_t at = s.n;
  if (at >= kTraceRecords - (fate ? 0 : 1)) {
    // Room for the fate is kept: what comes before it in excess is cut.
    s.truncated = 1;
    if (!fate) return;
    at = kTraceRecords - 1;
  }
  s.rec[at] = TraceRecord{uint16_t(k), 0, a, b, c};
  s.n = uint8_t(at + 1);
  if (fate) s.state.store(2, std::memory_order_release);
}

void Tap::sent(TapWorker& w, uint32_t on, const Pkt& p, uint16_t port) {
  if (p.traced) {
    // The destination MAC (the neighbor resolved) rides along: its first
    // two bytes above the port, the other four in c.
    uint32_t mac_hi = 0, mac_lo = 0;
    if (p.len >= 6) {
      mac_hi = load16(p.data);
      mac_lo = load32(p.data + 2);
    }
    record(w, on, p, TraceKind::sent, uint32_t(port) | mac_hi << 16, p.len, mac_lo);
  }
  if (on & kCaptureTx) capture(w, p, port, 1);
}

// --- Control side.

void Tap::quiesce() {
  const uint64_t target = qsbr_->advance();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!qsbr_->passed(target, int(workers_.size()))) {
    if (std::chrono::steady_clock::now() >= deadline)
      throw Error(err::kState, "a worker did not finish its loop iteration within 2 s; the tap was not changed");
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void Tap::startTrace(const TapFilter& f, uint32_t count) {
  armed.fetch_and(~kTrace, std::memory_order_seq_cst);
  quiesce();
  for (auto& w : workers_) {
    if (!w->slots) w->slots = std::make_unique<TraceSlot[]>(kTraceSlots);
    for (uint32_t i = 0; i < kTraceSlots; ++i) w->slots[i].state.store(0, std::memory_order_relaxed);
    w->next_slot = 0;
    w->trace_missed.store(0, std::memory_order_relaxed);
  }
  trace_filter_ = f;
  session_ = uint8_t(session_ == 255 ? 1 : session_ + 1);
  trace_budget_.store(count, std::memory_order_relaxed);
  armed.fetch_or(kTrace, std::memory_order_release);
}

void Tap::stopTrace() {
  armed.fetch_and(~kTrace, std::memory_order_seq_cst);
  quiesce();
}

uint64_t Tap::traceMissed() const {
  uint64_t n = 0;
  for (auto& w : workers_) n += w->trace_missed.load(std::memory_order_relaxed);
  return n;
}

void Tap::startCapture(const TapFilter& f, bool rx, bool tx, uint32_t snaplen, uint64_t count, uint32_t ring_bytes) {
  armed.fetch_and(~(kCaptureRx | kCaptureTx), std::memory_order_seq_cst);
  quiesce();
  for (auto& w : workers_) {
    if (w->ring_size != ring_bytes) {
      w->ring = std::make_unique<uint8_t[]>(ring_bytes);
      w->ring_size = ring_bytes;
    }
    w->head.store(0, std::memory_order_relaxed);
    w->tail.store(0, std::memory_order_relaxed);
    w->captured.store(0, std::memory_order_relaxed);
    w->cap_missed.store(0, std::memory_order_relaxed);
  }
  capture_filter_ = f;
  snaplen_ = snaplen;
  capture_budget_.store(int64_t(count), std::memory_order_relaxed);
  armed.fetch_or((rx ? uint32_t(kCaptureRx) : 0u) | (tx ? uint32_t(kCaptureTx) : 0u), std::memory_order_release);
}

void Tap::stopCapture() {
  armed.fetch_and(~(kCaptureRx | kCaptureTx), std::memory_order_seq_cst);
  quiesce();
}

uint64_t Tap::captureMissed() const {
  uint64_t n = 0;
  for (auto& w : workers_) n += w->cap_missed.load(std::memory_order_relaxed);
  return n;
}

}  // namespace nfvgw
