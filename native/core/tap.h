// Taps on the data plane: packet traces (each matching packet's way through
// the stages, as VPP's trace) and packet captures (matching frames copied as
// they arrive and as they leave, for a pcap). Both share one filter (what a
// packet must look like) and one arming protocol; their records go into
// per-worker areas written only by the worker and read by the control
// thread without locks.
//
// Off, a tap costs one relaxed load per loop iteration (Tap::armed) and
// nothing per packet: the stages test Pkt::traced, which stays 0, and the
// send path tests a per-iteration copy of the armed flags.
//
// Race reasoning (the control thread arms and disarms, the workers read):
//  - A worker loads `armed` once at the start of each loop iteration and,
//    when it is not 0, acquires (a fence) before it reads the filter and the
//    session; it touches the tap's areas only during that iteration.
//  - The control thread changes a filter, resets an area or frees one only
//    while that tap's bit is clear and after every worker has passed a
//    quiescent point since it cleared it (Tap::quiesce): no iteration that
//    saw the bit set is still running. It then sets the bit with a release.
//  - A traced packet may outlive its session (waiting for ARP): its
//    Pkt::traced holds the session it was traced in, and records for an old
//    session are ignored.
//  - Trace slots move free (0) -> open (1, the worker writes) -> done (2,
//    release) -> free (the reader, after copying, release). The capture ring
//    is a single-producer single-consumer byte ring: the worker publishes
//    its head with a release, the reader its tail.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/drops.h"
#include "core/qsbr.h"
#include "pkt/pkt.h"

// What a trace records, stage by stage: X(name, help). Each record carries
// three numbers, a, b and c, whose meaning the help gives (the control
// plane names them; src/service/tap.ts).
// clang-format off
#define NFVGW_TRACE_KINDS(X) \
  X(parsed, "the headers checked: a ethertype, b IP protocol, c VLAN") \
  X(route, "the gateway's route lookup: a next-hop kind, b port, c gateway (0: on link)") \
  X(vxlan_decap, "VXLAN decapsulated: a VNI, b VPC index") \
  X(eni_source, "the source ENI: a ENI index, b 1 routed / 0 switched") \
  X(vpc_route, "the VPC route table: a target kind, b route table, c destination") \
  X(eni_destination, "the destination ENI: a ENI index, b VPC index") \
  X(acl, "a network ACL: a ACL index, b 0 outbound / 1 inbound, c 1 allowed / 0 denied") \
  X(secgroup, "the security groups: a 0 outbound / 1 inbound / 2 both, b 1 allowed / 0 denied") \
  X(conntrack, "the connection table: a 0 untracked / 1 hit / 2 new / 3 related, b state, c direction") \
  X(nat, "an address translated: a 0 source / 1 destination, b new address, c new port") \
  X(lb, "the load balancer: a service index, b backend address, c backend port") \
  X(sent, "the frame left: a port (low 16 bits) and the destination MAC's first 2 bytes, b frame length, c the MAC's last 4 bytes") \
  X(dropped, "the frame was dropped: a drop reason") \
  X(consumed, "the frame was taken by the gateway (an ARP reply learned, an answer sent)")
// clang-format on

namespace nfvgw {

enum class TraceKind : uint16_t {
#define X(name, help) name,
  NFVGW_TRACE_KINDS(X)
#undef X
};
inline constexpr const char* kTraceKindNames[] = {
#define X(name, help) #name,
    NFVGW_TRACE_KINDS(X)
#undef X
};
inline constexpr const char* kTraceKindHelp[] = {
#define X(name, help) help,
    NFVGW_TRACE_KINDS(X)
#undef X
};
inline constexpr uint32_t kTraceKindCount = sizeof(kTraceKindNames) / sizeof(kTraceKindNames[0]);

// Which packets a tap takes. Addresses are host order; a criterion that is
// not set (-1, mask 0) matches everything. A VXLAN packet (UDP to
// vxlan_port) matches when its outer headers or its inner IPv4 packet meet
// every address, protocol and port criterion; `vni`, when set, takes VXLAN
// packets of that VNI only.
struct TapFilter {
  int32_t port = -1;  // receiving port (RX), sending port (TX)
  uint32_t src = 0, src_mask = 0;
  uint32_t dst = 0, dst_mask = 0;
  int32_t proto = -1;
  int32_t sport = -1, dport = -1;
  int64_t vni = -1;
  uint16_t vxlan_port = 4789;

  bool matches(const uint8_t* frame, uint32_t len, uint16_t on_port) const;

 private:
  bool matchesIp(const uint8_t* l3, uint32_t avail) const;
  bool hasIpCriteria() const { return src_mask || dst_mask || proto >= 0 || sport >= 0 || dport >= 0; }
};

struct TraceRecord {
  uint16_t kind;
  uint16_t pad;
  uint32_t a, b, c;
};

inline constexpr uint32_t kTraceSlots = 256;
inline constexpr uint32_t kTraceRecords = 24;
inline constexpr uint32_t kTraceHead = 160;  // bytes of the frame kept, as received

struct TraceSlot {
  std::atomic<uint32_t> state{0};  // 0 free, 1 open, 2 done
  uint8_t session = 0;
  uint8_t n = 0;          // records
  uint8_t truncated = 0;  // more records than there was room for
  uint16_t port = 0;
  uint32_t len = 0;  // frame length as received
  uint64_t rx_ns = 0;
  uint32_t head_len = 0;
  uint8_t head[kTraceHead];
  TraceRecord rec[kTraceRecords];
};

// A frame in the capture ring: this header, then caplen bytes, padded to 8.
struct CaptureHdr {
  uint32_t caplen;  // kCaptureWrap: the rest of the ring is unused, go to its start
  uint32_t origlen;
  uint64_t ts_ns;  // monotonic
  uint16_t port;
  uint8_t dir;  // 0 received, 1 sent
  uint8_t pad[5];
};
inline constexpr uint32_t kCaptureWrap = 0xffffffffu;

// One worker's areas. Only that worker writes the trace slots' contents
// and the ring; the control thread reads them as described above.
struct alignas(64) TapWorker {
  std::unique_ptr<TraceSlot[]> slots;
  uint32_t next_slot = 0;                 // worker: where it looks for a free slot
  std::atomic<uint64_t> trace_missed{0};  // matching packets with no free slot

  std::unique_ptr<uint8_t[]> ring;
  uint32_t ring_size = 0;  // a power of two
  alignas(64) std::atomic<uint64_t> head{0};
  std::atomic<uint64_t> captured{0};
  std::atomic<uint64_t> cap_missed{0};  // matching frames with no room in the ring
  alignas(64) std::atomic<uint64_t> tail{0};
};

class Tap {
 public:
  enum : uint32_t { kTrace = 1, kCaptureRx = 2, kCaptureTx = 4 };

  Tap(Qsbr* qsbr, int workers);
  TapWorker& worker(int i) { return *workers_[size_t(i)]; }
  int workers() const { return int(workers_.size()); }

  std::atomic<uint32_t> armed{0};

  // Worker side (the per-iteration armed flags in `on`).
  // Takes the frames of a received burst that the filters match: marks the
  // traced ones (Pkt::traced; 0 for every other), captures the others.
  void received(TapWorker& w, uint32_t on, Pkt* pkts, uint32_t n);
  void sent(TapWorker& w, uint32_t on, const Pkt& p, uint16_t port);
  void record(TapWorker& w, uint32_t on, const Pkt& p, TraceKind k, uint32_t a, uint32_t b, uint32_t c);

  // Control side (one thread). Each throws Error when a worker does not
  // reach a quiescent point in time.
  void startTrace(const TapFilter& f, uint32_t count);
  // Disarms the trace (the slots stay to be read).
  void stopTrace();
  bool tracing() const { return armed.load(std::memory_order_relaxed) & kTrace; }
  // Calls fn(worker, slot) for every done slot (and, when `open` too, for
  // those still open: only once the trace is stopped), then frees it.
  template <class Fn>
  void readTrace(bool open, Fn&& fn) {
    for (auto& wp : workers_) {
      TapWorker& w = *wp;
      if (!w.slots) continue;
      for (uint32_t i = 0; i < kTraceSlots; ++i) {
        TraceSlot& s = w.slots[i];
        const uint32_t st = s.state.load(std::memory_order_acquire);
        if (st == 2 || (open && st == 1 && s.session == session_)) {
          fn(w, s, st == 2);
          s.state.store(0, std::memory_order_release);
        }
      }
    }
  }
  uint64_t traceMissed() const;

  void startCapture(const TapFilter& f, bool rx, bool tx, uint32_t snaplen, uint64_t count, uint32_t ring_bytes);
  void stopCapture();
  // Calls fn(hdr, data) for every frame in the rings, oldest first per worker.
  template <class Fn>
  void readCapture(Fn&& fn) {
    for (auto& wp : workers_) {
      TapWorker& w = *wp;
      if (!w.ring) continue;
      uint64_t tail = w.tail.load(std::memory_order_relaxed);
      const uint64_t head = w.head.load(std::memory_order_acquire);
      while (tail < head) {
        const uint32_t pos = uint32_t(tail & (w.ring_size - 1));
        const CaptureHdr* h = reinterpret_cast<const CaptureHdr*>(w.ring.get() + pos);
        if (h->caplen == kCaptureWrap) {
          tail += w.ring_size - pos;
          continue;
        }
        fn(*h, w.ring.get() + pos + sizeof(CaptureHdr));
        tail += (sizeof(CaptureHdr) + h->caplen + 7) & ~uint64_t(7);
      }
      w.tail.store(tail, std::memory_order_release);
    }
  }
  uint64_t captureMissed() const;
  bool capturing() const { return armed.load(std::memory_order_relaxed) & (kCaptureRx | kCaptureTx); }

 private:
  void quiesce();
  bool trace(TapWorker& w, Pkt& p);
  void capture(TapWorker& w, const Pkt& p, uint16_t port, uint8_t dir);

  Qsbr* qsbr_;
  std::vector<std::unique_ptr<TapWorker>> workers_;
  // Written by the control thread only while disarmed (see above).
  TapFilter trace_filter_;
  TapFilter capture_filter_;
  uint8_t session_ = 0;
  uint32_t snaplen_ = 0;
  std::atomic<int64_t> trace_budget_{0};
  std::atomic<int64_t> capture_budget_{0};
};

}  // namespace nfvgw

// In a stage: adds a record to p's trace when p is traced (w: the WorkerCtx).
#define NFVGW_TRACE(w, p, kind, a, b, c)                                                               \
  do {                                                                                                 \
    if (__builtin_expect((p).traced != 0, 0)) (w).trace((p), ::nfvgw::TraceKind::kind, (a), (b), (c)); \
  } while (0)
