// libFuzzer target: arbitrary frames through the whole L3 pipeline (ARP,
// IPv4, routing, the VXLAN overlay, ACLs, security groups and connection
// tracking, NAT and elastic IPs, the load balancer) over in-memory ports,
// with the configuration of test/fuzz/config.ts compiled by the real control
// plane (fuzz_spec.h, generated at build time by test/fuzz/spec-header.ts).
// Built by scripts/fuzz.sh (CMake with NFVGW_FUZZ=ON), never into the addon.
//
// No threads and no Gateway: each worker is what Worker<L3Pipeline> holds
// (a frame pool, its counters, a WorkerCtx, one MemQueue per port, an
// L3Pipeline) and one loop iteration is the body of Worker::run(), called
// here in turn for every worker with a clock the input moves. Every input
// starts from the same state, so that it replays alone: the connection
// table and the pipelines (ICMP limiter, packets waiting for ARP,
// round-robin positions) are made afresh, and the learned neighbors are
// put back as they were after the snapshot was built. The snapshot (which
// the pipeline only reads), the pools, counters and queues are kept: after
// each input the queues are empty again, and the pools full (checked).
//
// Input: frames separated by kSep, each starting with a control byte:
//   bits 0-1  the port it arrives on (modulo the ports)
//   bit  2    the worker whose queue of that port receives it (modulo the workers)
//   bit  3    first, the workers run loop iterations until everything that came
//             in so far is processed (a burst boundary; frames without it
//             arrive together and are received in bursts of up to `burst`)
//   bits 4-7  k: then the clock moves by 2^(k-1) ms (k = 0: not at all), up to 16 s
// At the end everything is processed, the clock moves 100 s (packets waiting
// for ARP time out), and every frame must be back in its pool.
// test/support/mem-gateway.ts writes golden-test injections in this format
// (NFVGW_FUZZ_DUMP) and test/fuzz/input.ts reads it back for the regression
// tests.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "core/frame_pool.h"
#include "core/hugemem.h"
#include "core/qsbr.h"
#include "core/worker.h"
#include "dataplane/l3_pipeline.h"
#include "dataplane/snapshot.h"
#include "fuzz_spec.h"
#include "io/mem/mem_queue.h"
#include "nf/arp/neighbor_table.h"
#include "nf/conntrack/conntrack.h"

namespace nfvgw::fuzz {
namespace {

constexpr uint8_t kSep[4] = {'N', 'F', 'V', 'G'};
// Close to where the uint32 milliseconds the connection table keeps wrap
// (49.7 days of uptime): 30 s before, so inputs can cross it.
constexpr uint64_t kStartNs = ((uint64_t(1) << 32) - 30'000) * 1'000'000;
constexpr uint64_t kIterationNs = 10'000;  // what one loop iteration takes
constexpr uint32_t kMemSlots = 1024;

uint32_t roundPow2(uint32_t v) {
  uint32_t r = 1;
  while (r < v) r <<= 1;
  return r;
}

// What a worker keeps across inputs (see Gateway::createWorkers).
struct Rig {
  Rig(int id, size_t nports)
      : pool(MemRegion::allocate(size_t(kMaxBurst * (2 * nports + 8) + 1024) * kFrameSize, HugePagePolicy::kOff,
                                 "fuzz packet buffers", nullptr)),
        stats(std::make_unique<WorkerStats>()),
        ctx(&pool, stats.get(), id, nports) {
    for (size_t i = 0; i < nports; ++i) {
      const uint32_t slots = roundPow2(kMemSlots);
      QueueEnv env{&pool, stats.get(), &ctx.now_ns, uint16_t(i), uint16_t(id)};
      queues.push_back(std::make_unique<MemQueue>(
          env, MemRegion::allocate(SlotRing::bytesFor(slots), HugePagePolicy::kOff, "fuzz rings", nullptr),
          MemRegion::allocate(SlotRing::bytesFor(slots), HugePagePolicy::kOff, "fuzz rings", nullptr), slots));
      ctx.setQueue(uint16_t(i), queues.back().get());
    }
  }
  FramePool pool;
  std::unique_ptr<WorkerStats> stats;
  WorkerCtx ctx;
  std::vector<std::unique_ptr<MemQueue>> queues;
};

struct Plane {
  Setup setup = fuzz::setup();
  // Building a snapshot (route tries, Maglev tables) costs more than most
  // inputs: it is built once. Its next hops point at neighbor entries it
  // created, which the inputs then change; `fresh` is the table as the
  // build left it, copied back before each input.
  NeighborTable neigh{256};
  std::unique_ptr<Snapshot> snap = buildSnapshot(setup.snapshot, setup.ports, &neigh);
  struct NeighborImage {
    uint64_t key, mac, confirmed_ns, requested_ns;
  };
  std::vector<NeighborImage> fresh;
  std::vector<std::unique_ptr<Rig>> rigs;

  Plane() {
    for (uint32_t w = 0; w < setup.workers; ++w) rigs.push_back(std::make_unique<Rig>(int(w), setup.ports.size()));
    for (uint32_t i = 0; i < neigh.capacity(); ++i) {
      const NeighborTable::Entry& e = neigh.at(i);
      fresh.push_back({e.key.load(), e.mac.load(), e.confirmed_ns.load(), e.requested_ns.load()});
    }
  }
  // The table has no way to forget (a gateway never needs one); its
  // entries are atomics the harness may store into between inputs, when
  // nothing else runs. Only its created/resolved counters (statistics) are
  // left as they are.
  void resetNeighbors() {
    for (uint32_t i = 0; i < neigh.capacity(); ++i) {
      auto& e = const_cast<NeighborTable::Entry&>(neigh.at(i));
      e.key.store(fresh[i].key);
      e.mac.store(fresh[i].mac);
      e.confirmed_ns.store(fresh[i].confirmed_ns);
      e.requested_ns.store(fresh[i].requested_ns);
    }
  }
};

Plane& plane() {
  static Plane* p = new Plane();  // built once; lives as long as the process
  return *p;
}

// The state of one input's run.
struct Run {
  explicit Run(Plane& p)
      : plane(p),
        ct(p.setup.conntrack_capacity, int(p.rigs.size()), &qsbr, HugePagePolicy::kOff, nullptr),
        current(p.snap.get()) {
    p.resetNeighbors();
    for (size_t w = 0; w < p.rigs.size(); ++w) {
      pipes.push_back(std::make_unique<L3Pipeline>(&current, &p.neigh, &ct));
      qsbr.online(int(w));
    }
  }

  // One iteration of every worker's loop (Worker::run), then what the
  // ports sent is taken away.
  void iteration() {
    for (size_t w = 0; w < plane.rigs.size(); ++w) {
      Rig& r = *plane.rigs[w];
      L3Pipeline& pipe = *pipes[w];
      Pkt pkts[kMaxBurst];
      r.ctx.now_ns = now;
      pipe.begin(r.ctx);
      for (auto& q : r.queues) {
        const uint32_t n = q->rxBurst(pkts, plane.setup.burst);
        if (n) pipe.process(r.ctx, pkts, n);
      }
      pipe.end(r.ctx);
      r.ctx.flush();
      for (auto& q : r.queues) q->service();
      qsbr.quiescent(int(w));
      for (auto& q : r.queues) q->drain(~0u, [](const uint8_t*, uint32_t) {});
    }
    now += kIterationNs;
  }

  bool pending() const {
    for (const auto& r : plane.rigs)
      for (const auto& q : r->queues)
        if (!q->rxEmpty()) return true;
    return false;
  }

  void settle() {
    // Bounded: every iteration takes a burst from each queue.
    for (int i = 0; i < 1024 && pending(); ++i) iteration();
  }

  Plane& plane;
  uint64_t now = kStartNs;
  Qsbr qsbr;
  ConnTable ct;
  std::atomic<const Snapshot*> current;
  std::vector<std::unique_ptr<L3Pipeline>> pipes;
};

// Calls fn(frame, length) for each frame of an input, its control byte
// first; empty ones (two separators in a row) are skipped.
template <class T, class Fn>
void forEachFrame(T* data, size_t size, Fn&& fn) {
  size_t start = 0;
  for (size_t i = 0; i + sizeof(kSep) <= size; ++i) {
    if (std::memcmp(data + i, kSep, sizeof(kSep)) != 0) continue;
    if (i > start) fn(data + start, i - start);
    start = i + sizeof(kSep);
    i = start - 1;
  }
  if (size > start) fn(data + start, size - start);
}

void frame(Run& run, const uint8_t* d, size_t n) {
  const uint8_t ctl = d[0];
  Plane& p = run.plane;
  if (ctl & 0x08) run.settle();
  if (const uint8_t k = ctl >> 4) run.now += (uint64_t(1) << (k - 1)) * 1'000'000;
  Rig& r = *p.rigs[((ctl >> 2) & 1) % p.rigs.size()];
  MemQueue& q = *r.queues[(ctl & 3) % r.queues.size()];
  q.inject(d + 1, uint32_t(n - 1));  // a full ring or an oversized frame: not received, as on a NIC
}

// The mutator's help past the first checks. Nearly every mutation of an
// IPv4 header leaves its checksum wrong, and one that inserts or removes
// bytes leaves its length too long, so nearly every mutant would stop at
// parseIp4. After libFuzzer's own mutation, in 15 inputs of 16 (the 16th
// keeps whatever is wrong), every frame's IPv4 header gets its checksum
// right, and a total or UDP length claiming more than the frame has shrinks
// to what it has; inside VXLAN (UDP port 4789, the configuration's) the
// inner frame's too. Nothing else is touched: the data plane is not asked
// to check more than it does.
uint16_t get16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
void put16(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}

void fixFrame(uint8_t* f, size_t n, bool inner);

void fixIp4(uint8_t* ip, size_t avail, bool inner) {
  if (avail < 20 || (ip[0] >> 4) != 4) return;
  const size_t ihl = size_t(ip[0] & 15) * 4;
  if (ihl < 20 || ihl > avail) return;
  size_t total = get16(ip + 2);
  if (total > avail || total < ihl) put16(ip + 2, uint32_t(total = avail));
  if (ip[9] == 17 && !(get16(ip + 6) & 0x1fff) && total >= ihl + 8) {
    uint8_t* udp = ip + ihl;
    const size_t l4 = total - ihl;
    if (get16(udp + 4) > l4 || get16(udp + 4) < 8) put16(udp + 4, uint32_t(l4));
    if (!inner && get16(udp + 2) == 4789 && l4 >= 16) fixFrame(udp + 16, l4 - 16, true);
  }
  put16(ip + 10, 0);
  uint32_t sum = 0;
  for (size_t i = 0; i < ihl; i += 2) sum += get16(ip + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  put16(ip + 10, ~sum & 0xffff);
}

void fixFrame(uint8_t* f, size_t n, bool inner) {
  if (n < 14) return;
  size_t l2 = 14;
  uint16_t type = get16(f + 12);
  if (type == 0x8100) {
    if (n < 18) return;
    type = get16(f + 16);
    l2 = 18;
  }
  if (type == 0x0800) fixIp4(f + l2, n - l2, inner);
}

}  // namespace
}  // namespace nfvgw::fuzz

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  using namespace nfvgw::fuzz;
  size = LLVMFuzzerMutate(data, size, max_size);
  if (seed % 16 == 0) return size;
  forEachFrame(data, size, [](uint8_t* f, size_t n) { fixFrame(f + 1, n - 1, false); });
  return size;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nfvgw;
  using namespace nfvgw::fuzz;
  Plane& p = plane();
  {
    Run run(p);
    forEachFrame(data, size, [&](const uint8_t* f, size_t n) { frame(run, f, n); });
    run.settle();
    run.now += 100'000'000'000ull;
    run.iteration();
    for (size_t w = 0; w < p.rigs.size(); ++w) {
      const FramePool& pool = p.rigs[w]->pool;
      if (pool.available() != pool.capacity()) {
        // Fewer: a frame leaked (dropped or sent without going back);
        // more: one was freed twice.
        std::fprintf(stderr, "fuzz_pipeline: worker %zu: %u frames in the pool after the input, %u before\n", w,
                     pool.available(), pool.capacity());
        std::abort();
      }
    }
  }
  return 0;
}
