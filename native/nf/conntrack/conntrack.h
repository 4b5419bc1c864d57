// Connection tracking: one table shared by all workers, found from both
// directions of a connection.
//
// An entry holds the connection's two keys (the original direction and the
// reply direction, each with its zone, so a reply after NAT, or arriving in
// another VPC across a peering, is found by what it carries), its state and
// when it expires: 64 bytes, one cache line. Each key is chained into a
// bucket of one hash index (two 32-bit bucket heads per connection), so a
// connection costs 64 + 8..16 bytes; this machine's kernel spends 264
// (its nf_conntrack slab object and hash share: bench conntrack-memory).
// A connection whose replies never come through the gateway (dr, tunnel)
// chains its original key alone (Replies::kGoAround).
//
// Concurrency, without a lock:
//  - Lookups walk a chain with acquire loads and never write, except the
//    expiry time (at most once a second per entry) and the state on TCP
//    flags (a CAS).
//  - An insertion fills the entry, then pushes it on the head of each of
//    its two chains with a CAS. Two workers may insert the same new
//    connection at the same moment; both entries work, the older expires.
//  - Every bucket has one owner among the workers (bucket mod workers), and
//    only the owner unlinks from its chains: a CAS on the head (which fails
//    when an insertion just pushed, and then the owner unlinks from the new
//    predecessor), else a store into the predecessor's link, which only the
//    owner writes once the entry is published. An expired entry is first
//    marked dying (lookups skip it), so the two owners of its chains agree
//    that it goes even when a packet refreshes it in between.
//  - The worker that unlinks an entry from its second chain retires it: the
//    entry goes back to a free list only after a QSBR grace period (every
//    worker has passed a quiescent point since), so a lookup still walking
//    through it never sees it reused.
//  - Expiry is lazy, as in the kernel: a lookup passes over an expired
//    connection as if it were gone (a mapping expires only once no
//    connection uses it, by the sweep). The sweep gives the memory back:
//    at the end of each loop iteration a worker sweeps a slice of its
//    buckets sized by the time elapsed to go round the table once a period
//    (ConnSettings::sweepPeriodMs), so no pause grows with the table, and
//    counts the removals. Until then an expired connection still fills the
//    table (nfvgw_conntrack_entries), holds its NAT mapping and counts as
//    its backend's; a full table makes the sweep hurry.
//  - Free entries: a global lock-free stack (index and ABA tag in one 64-bit
//    word) feeding a per-worker cache of 64, so most allocations and frees
//    touch no shared line (a full table may so refuse a connection up to 64
//    entries per other worker early).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/hugemem.h"
#include "core/qsbr.h"
#include "core/worker_stats.h"

namespace nfvgw {

// A direction of a connection: zone (the VPC's VNI, which stays when the
// configuration changes), addresses, ports (ICMP echo:
// the identifier as source port, 0 as destination port), protocol. Host
// order. Packed into two words, so comparing is two compares.
struct FlowKey {
  uint64_t addrs;  // src << 32 | dst
  uint64_t rest;   // sport << 48 | dport << 32 | proto << 24 | zone (24 bits)

  static FlowKey make(uint32_t zone, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t proto) {
    return {(uint64_t(src) << 32) | dst,
            (uint64_t(sport) << 48) | (uint64_t(dport) << 32) | (uint64_t(proto) << 24) | (zone & 0xffffff)};
  }
  FlowKey reversed() const {
    return {(addrs << 32) | (addrs >> 32),
            (uint64_t(dport()) << 48) | (uint64_t(sport()) << 32) | (rest & 0xffffffffu)};
  }
  uint32_t src() const { return uint32_t(addrs >> 32); }
  uint32_t dst() const { return uint32_t(addrs); }
  uint16_t sport() const { return uint16_t(rest >> 48); }
  uint16_t dport() const { return uint16_t(rest >> 32); }
  uint8_t proto() const { return uint8_t(rest >> 24); }
  uint32_t zone() const { return uint32_t(rest & 0xffffff); }
  bool operator==(const FlowKey& o) const { return addrs == o.addrs && rest == o.rest; }
  uint64_t hash() const {
    uint64_t h = (addrs ^ (rest * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 29);
  }
};

// Connection states. TCP follows the flags it sees (RFC 793's states as
// seen from the middle, like the kernel's conntrack); UDP and ICMP are
// unreplied until a packet goes the other way.
enum class ConnState : uint8_t {
  kTcpSynSent,
  kTcpSynRecv,
  kTcpEstablished,
  kTcpFinWait,    // the original side sent FIN
  kTcpCloseWait,  // the reply side sent FIN
  kTcpTimeWait,   // both sides sent FIN
  kTcpClose,      // RST
  kUnreplied,
  kReplied,
  kCount,
};
inline constexpr const char* kConnStateNames[] = {"syn_sent",  "syn_recv", "established", "fin_wait", "close_wait",
                                                  "time_wait", "close",    "unreplied",   "replied"};

// Per-state timeouts (milliseconds) and the protocol of each.
struct ConnSettings {
  uint32_t timeout_ms[uint32_t(ConnState::kCount)] = {120'000, 60'000, 7'440'000, 120'000, 60'000,
                                                      120'000, 10'000, 30'000,    180'000};
  uint32_t icmp_ms = 30'000;  // ICMP echo, whatever its state
  uint32_t timeout(ConnState s, uint8_t proto) const { return proto == 1 ? icmp_ms : timeout_ms[uint32_t(s)]; }
  // How long the sweep takes to go round the table: the shortest timeout,
  // between 1 and 10 s. Lookups pass over expired connections, so this is
  // how late their memory comes back, not how late they end; each round
  // touches every entry (a cache miss each in a table of millions: a tenth
  // of the packet path's time at 1M connections when it went round every
  // 2.5 s). A full table makes the sweep hurry (ConnTable::sweep).
  uint32_t sweepPeriodMs() const {
    uint32_t shortest = icmp_ms;
    for (uint32_t t : timeout_ms) shortest = t < shortest ? t : shortest;
    return shortest < 1000 ? 1000 : shortest > 10'000 ? 10'000 : shortest;
  }
};

// TCP flags as in the header's 13th byte.
inline constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;

// The state after a TCP segment with `flags` going `dir` (0: original,
// 1: reply) through a connection in state `s`.
inline ConnState tcpNext(ConnState s, int dir, uint8_t flags) {
  using S = ConnState;
  if (flags & kTcpRst) return S::kTcpClose;
  const bool syn = flags & kTcpSyn, ack = flags & kTcpAck, fin = flags & kTcpFin;
  switch (s) {
    case S::kTcpSynSent:
      return dir == 1 && syn && ack ? S::kTcpSynRecv : s;
    case S::kTcpSynRecv:
      return dir == 0 && ack && !syn ? (fin ? S::kTcpFinWait : S::kTcpEstablished) : s;
    case S::kTcpEstablished:
      return fin ? (dir == 0 ? S::kTcpFinWait : S::kTcpCloseWait) : s;
    case S::kTcpFinWait:
      return fin && dir == 1 ? S::kTcpTimeWait : s;
    case S::kTcpCloseWait:
      return fin && dir == 0 ? S::kTcpTimeWait : s;
    case S::kTcpTimeWait:
    case S::kTcpClose:
      // The same ports opened again.
      return dir == 0 && syn && !ack ? S::kTcpSynSent : s;
    default:
      return s;
  }
}

// The state a connection starts in with its first packet: a SYN opens,
// other TCP segments are picked up mid-stream as established (as the
// kernel's conntrack does by default, so a restart breaks nothing).
inline ConnState connFirstState(uint8_t proto, uint8_t tcp_flags) {
  if (proto != 6) return ConnState::kUnreplied;
  return (tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn ? ConnState::kTcpSynSent : ConnState::kTcpEstablished;
}

struct alignas(64) ConnEntry {
  std::atomic<uint64_t> key[2][2];  // [direction][addrs, rest]
  std::atomic<uint32_t> next[2];    // chain links (see conntrack.cc), 0 at the end; next[0]: free stack link
  std::atomic<uint32_t> expires_ms{0};
  std::atomic<uint8_t> state{0};
  std::atomic<uint8_t> flags{0};  // kDying, kUnlinked0, kUnlinked1, kMapping, kBackend, kAffinity
  // A connection through a NAT mapping: the mapping's index + 1. A mapping:
  // the connections using it, times two, plus kClosing once it expires. A
  // load-balanced connection (kBackend), or a client's session affinity
  // (kAffinity): its backend's slot + 1.
  std::atomic<uint32_t> aux{0};
  uint64_t retired_epoch = 0;  // for the grace period after retirement

  FlowKey keyOf(int dir) const {
    return {key[dir][0].load(std::memory_order_relaxed), key[dir][1].load(std::memory_order_relaxed)};
  }
};
static_assert(sizeof(ConnEntry) == 64);

// Which way a packet goes through a connection it was found in.
struct ConnHit {
  ConnEntry* e = nullptr;
  int dir = 0;  // 0: original, 1: reply
};

class ConnTable {
 public:
  static constexpr uint32_t kNil = 0xffffffffu;  // no entry (free stack)
  static constexpr uint32_t kEnd = 0;            // no link (chains)
  static constexpr uint32_t kMaxCapacity = 1u << 30;
  static constexpr uint8_t kDying = 1, kUnlinked0 = 2, kUnlinked1 = 4, kMapping = 8, kBackend = 16, kAffinity = 32;
  static constexpr uint32_t kBackendSlots = kLbBackendSlots;  // load-balancer backends (active connections)
  static constexpr uint32_t kClosing = 1;                     // a mapping's aux: it is expiring, take no more users
  static constexpr uint32_t kMappingHoldMs = 30'000;          // a mapping outlives its last connection by this
  static constexpr uint32_t kCacheSize = 64;

  // Room for `capacity` connections, for `workers` workers (bucket owners),
  // in memory of `hugepages` (a fallback to normal pages is a warning).
  ConnTable(uint32_t capacity, int workers, Qsbr* qsbr, HugePagePolicy hugepages = HugePagePolicy::kOff,
            std::vector<std::string>* warnings = nullptr);
  ~ConnTable();
  ConnTable(const ConnTable&) = delete;
  ConnTable& operator=(const ConnTable&) = delete;

  // The table's clock, which every `now_ms` here is: milliseconds of the
  // monotonic clock (`mono_ns`, as monoNs() or a worker's now_ns), in 32
  // bits that wrap every 49 days (times are compared as differences).
  static uint32_t clockMs(uint64_t mono_ns) { return uint32_t(mono_ns / 1'000'000); }

  // The connection `k` belongs to, either way, at `now_ms`; a null entry
  // when none (or only an expired one).
  ConnHit find(const FlowKey& k, uint32_t now_ms) const;
  // For a burst, in steps that hash each key once: its bucket; fetching
  // the bucket into the cache, then (once that has had time to arrive) the
  // first entry of its chain; the lookup by bucket (find(k, now) is
  // findIn(bucket(k), k, now)). The lookups of several packets so wait on
  // memory once instead of once per packet.
  uint32_t bucket(const FlowKey& k) const { return bucketOf(k); }
  void prefetchBucket(uint32_t b) const { __builtin_prefetch(&buckets_[b]); }
  void prefetchChain(uint32_t b) const {
    const uint32_t link = buckets_[b].load(std::memory_order_relaxed);
    if (link != kEnd) __builtin_prefetch(&entries_[(link - 1) >> 1]);
  }
  __attribute__((always_inline)) ConnHit findIn(uint32_t b, const FlowKey& k, uint32_t now_ms) const {
    uint32_t link = buckets_[b].load(std::memory_order_acquire);
    while (link != kEnd) {
      ConnEntry& e = entries_[(link - 1) >> 1];
      const int dir = int((link - 1) & 1);
      if (e.key[dir][0].load(std::memory_order_relaxed) == k.addrs &&
          e.key[dir][1].load(std::memory_order_relaxed) == k.rest && current(e, now_ms))
        return {&e, dir};
      link = e.next[dir].load(std::memory_order_acquire);
    }
    return {};
  }

  // A new connection with its original and reply keys and first state;
  // nullptr when the table is full. `worker` is the caller. `replies`:
  // whether packets the other way are to find it. A connection whose
  // replies go around the gateway (load-balanced in dr or tunnel mode) is
  // found by its original key alone: its reply key only says where the
  // requests go, and indexing it would cost a second bucket on insertion
  // and lengthen the chains every lookup walks.
  enum class Replies : bool { kFound, kGoAround };
  ConnEntry* insert(int worker, const FlowKey& orig, const FlowKey& reply, ConnState s, uint32_t now_ms,
                    const ConnSettings& cfg, Replies replies = Replies::kFound);

  // Moves the expiry of `e` to now + its state's timeout, at most once a
  // second (a store into a line other workers may be reading).
  __attribute__((always_inline)) static void refresh(ConnEntry* e, uint32_t now_ms, uint32_t timeout_ms) {
    uint32_t want = now_ms + timeout_ms;
    uint32_t cur = e->expires_ms.load(std::memory_order_relaxed);
    if (int32_t(want - cur) > 1000 || int32_t(want - cur) < -1000) e->expires_ms.store(want, std::memory_order_relaxed);
  }
  // Sets the state (and the expiry for it); false when another worker
  // changed it first (the caller may look again).
  static bool setState(ConnEntry* e, ConnState from, ConnState to, uint32_t now_ms, uint32_t timeout_ms) {
    uint8_t f = uint8_t(from);
    if (!e->state.compare_exchange_strong(f, uint8_t(to), std::memory_order_relaxed)) return false;
    e->expires_ms.store(now_ms + timeout_ms, std::memory_order_relaxed);
    return true;
  }

  // NAT mappings (endpoint-independent, RFC 4787): entries flagged
  // kMapping whose key[0] is the inside endpoint and key[1] the outside one
  // (endpointKey: no destination). A connection through a mapping holds a
  // use of it (aux); a mapping outlives its last use by kMappingHoldMs, and
  // its outside port is taken as long as it lives.
  static FlowKey endpointKey(uint32_t zone, uint32_t ip, uint16_t port, uint8_t proto) {
    return FlowKey::make(zone, ip, 0, port, 0, proto);
  }
  // The live mapping of `inside` with a use taken on it, or null.
  ConnEntry* useMapping(const FlowKey& inside, uint32_t now_ms);
  // Makes a mapping from `inside` to `outside` with a use taken on it. Null
  // when `outside` is taken (try another port) or the table is full
  // (*full). When another worker mapped `inside` at the same moment, the
  // older mapping wins and is the one returned (or null, to try again).
  ConnEntry* createMapping(int worker, const FlowKey& inside, const FlowKey& outside, uint32_t now_ms, bool* full);
  // Attaches the connection `e` to the mapping `m` (whose use it takes over).
  void attach(ConnEntry* e, const ConnEntry* m) const {
    e->aux.store(uint32_t(m - entries_) + 1, std::memory_order_relaxed);
  }
  // Marks the connection `e` as load-balanced onto the backend in `slot`,
  // which counts it as active until it goes.
  void attachBackend(ConnEntry* e, uint32_t slot) {
    e->aux.store(slot + 1, std::memory_order_relaxed);
    e->flags.fetch_or(kBackend, std::memory_order_release);
    backend_active_[slot].fetch_add(1, std::memory_order_relaxed);
  }
  // The backend slot of connection `e`, or -1.
  static int32_t backendOf(const ConnEntry* e) {
    return (e->flags.load(std::memory_order_relaxed) & kBackend) ? int32_t(e->aux.load(std::memory_order_relaxed)) - 1
                                                                 : -1;
  }
  // Marks `e` as a session-affinity record for the backend in `slot`
  // (not a connection: it counts as no backend's).
  static void attachAffinity(ConnEntry* e, uint32_t slot) {
    e->aux.store(slot + 1, std::memory_order_relaxed);
    e->flags.fetch_or(kAffinity, std::memory_order_release);
  }
  // The backend slot of affinity record `e`, or -1 when it is none.
  static int32_t affinityOf(const ConnEntry* e) {
    return (e->flags.load(std::memory_order_acquire) & kAffinity) ? int32_t(e->aux.load(std::memory_order_relaxed)) - 1
                                                                  : -1;
  }
  // Connections of the backend in `slot` in the table.
  int32_t backendActive(uint32_t slot) const { return backend_active_[slot].load(std::memory_order_relaxed); }
  // Gives back a use of mapping `m` not handed to a connection.
  static void release(ConnEntry* m, uint32_t now_ms) {
    if (m->aux.fetch_sub(2, std::memory_order_acq_rel) == 2)
      m->expires_ms.store(now_ms + kMappingHoldMs, std::memory_order_relaxed);
  }

  // What one sweep removed.
  struct Swept {
    uint32_t connections = 0, mappings = 0;
  };
  // The worker's share of expiry, once per loop iteration: unlinks dying
  // and expired entries from a slice of its buckets, and frees entries
  // whose grace period is over.
  // `period_ms`: how long one round of the table takes (ConnSettings).
  Swept sweep(int worker, uint32_t now_ms, uint64_t now_ns, uint32_t period_ms);

  // Marks every connection current at `now_ms` that `pick` selects as
  // dying (the sweep removes it); returns how many. Mappings go by
  // themselves after their last connection. Any thread.
  template <class Pick>
  uint32_t kill(uint32_t now_ms, Pick pick) {
    uint32_t n = 0;
    const uint32_t used = unused_.load(std::memory_order_acquire);
    for (uint32_t i = 0; i < used; ++i) {
      ConnEntry& e = entries_[i];
      if (!live(e) || !current(e, now_ms) || (e.flags.load(std::memory_order_relaxed) & kMapping)) continue;
      if (pick(e) && !(e.flags.fetch_or(kDying, std::memory_order_acq_rel) & kDying)) ++n;
    }
    return n;
  }
  // Calls `f` for the entries current at `now_ms` (for inspection, from
  // any thread: a value may be a moment old).
  template <class F>
  void forEach(uint32_t now_ms, F f) const {
    const uint32_t used = unused_.load(std::memory_order_acquire);
    for (uint32_t i = 0; i < used; ++i)
      if (live(entries_[i]) && current(entries_[i], now_ms)) f(entries_[i]);
  }

  uint32_t capacity() const { return capacity_; }
  // Bytes per connection the table holds room for: the entry and its share
  // of the buckets.
  size_t memoryBytes() const {
    return size_t(capacity_) * sizeof(ConnEntry) + (size_t(bucket_mask_) + 1) * sizeof(uint32_t);
  }
  int workers() const { return workers_; }
  // Of that, what is in memory now (pages touched), measured with mincore().
  size_t residentBytes() const;

 private:
  struct alignas(64) WorkerState {
    uint32_t cache[kCacheSize];  // free entries
    uint32_t cached = 0;
    uint32_t* limbo = nullptr;  // retired, waiting for the grace period: a ring of capacity_
    uint64_t limbo_head = 0, limbo_tail = 0;
    uint64_t owned = 0;   // how many buckets this worker owns (and sweeps)
    uint64_t cursor = 0;  // the next of them to sweep, < owned
    uint64_t last_sweep_ns = 0;
    uint64_t carry = 0;  // bucket-nanoseconds not swept yet
  };

  // In use (not free).
  bool live(const ConnEntry& e) const { return e.expires_ms.load(std::memory_order_relaxed) != 0; }
  // What lookups find: not dying, and not expired at `now_ms` (a mapping
  // expires only by the sweep, once no connection uses it).
  __attribute__((always_inline)) static bool current(const ConnEntry& e, uint32_t now_ms) {
    const uint8_t f = e.flags.load(std::memory_order_relaxed);
    return !(f & kDying) && (int32_t(e.expires_ms.load(std::memory_order_relaxed) - now_ms) > 0 || (f & kMapping));
  }
  uint32_t bucketOf(const FlowKey& k) const { return uint32_t(k.hash() >> 20) & bucket_mask_; }
  uint32_t allocate(WorkerState& ws);
  // An insertion at `now_ms` found no free entry.
  void noteFull(uint32_t now_ms);
  void release(WorkerState& ws, uint32_t idx);
  void pushFree(uint32_t idx);
  uint32_t popFree();
  // Unlinks entry `idx` from chain `dir` of bucket `b` (owned by the caller).
  void unlink(uint32_t b, uint32_t link);
  void sweepBucket(WorkerState& ws, uint32_t b, uint32_t now_ms, Swept& out);
  void push(uint32_t idx, int dir, const FlowKey& k);
  // True when the live entries of `k`'s chain whose key is `k` end with `link`
  // (pushes go to the head, so the last is the oldest).
  bool oldest(const FlowKey& k, uint32_t link) const;

  uint32_t capacity_;
  int workers_;
  Qsbr* qsbr_;
  MemRegion mem_;  // entries, then buckets
  ConnEntry* entries_;
  std::atomic<uint32_t>* buckets_;
  uint32_t bucket_mask_;
  alignas(64) std::atomic<uint64_t> free_head_{kNil};  // index | tag << 32
  std::atomic<uint32_t> unused_{0};                    // entries [unused_, capacity_) were never used
  alignas(64) std::atomic<uint32_t> full_ms_{0};       // when an insertion last found no room (| 1; 0: never)
  std::vector<WorkerState> ws_;
  std::unique_ptr<std::atomic<int32_t>[]> backend_active_;
};

}  // namespace nfvgw
