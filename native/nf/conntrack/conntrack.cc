// The connection table; see conntrack.h for the concurrency argument.
#include "nf/conntrack/conntrack.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "core/error.h"

namespace nfvgw {

namespace {

// A link names an entry and which of its keys (so which of its two links
// goes on); 0 ends a chain, so zeroed memory is an empty table.
constexpr uint32_t linkOf(uint32_t idx, int dir) { return idx * 2 + uint32_t(dir) + 1; }
constexpr uint32_t idxOf(uint32_t link) { return (link - 1) >> 1; }
constexpr int dirOf(uint32_t link) { return int((link - 1) & 1); }

// Zeroed memory from the kernel, touched only as it is used (the limbo
// rings, which are as long as the table but mostly empty).
template <class T>
T* zeroedArray(size_t n) {
  void* p = mmap(nullptr, n * sizeof(T), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    throw Error(err::kMemory, "connection table: mmap of " + std::to_string(n * sizeof(T)) + " bytes", errno);
  return static_cast<T*>(p);
}

// The most buckets one sweep looks at, and the fewest: bounded work per loop
// iteration, and progress even when iterations come fast.
constexpr uint64_t kSweepMax = 4096;

}  // namespace

ConnTable::ConnTable(uint32_t capacity, int workers, Qsbr* qsbr, HugePagePolicy hugepages,
                     std::vector<std::string>* warnings)
    : capacity_(std::clamp<uint32_t>(capacity, 64, kMaxCapacity)), workers_(std::max(workers, 1)), qsbr_(qsbr) {
  // Two keys per connection, about one per bucket.
  uint32_t nb = 64;
  while (nb < 2 * capacity_) nb <<= 1;
  bucket_mask_ = nb - 1;
  // Entries and buckets on huge pages, like the packet buffers: a lookup in
  // a table of millions must not also miss the TLB.
  mem_ = MemRegion::allocate(size_t(capacity_) * sizeof(ConnEntry) + size_t(nb) * sizeof(uint32_t), hugepages,
                             "connection table", warnings);
  entries_ = reinterpret_cast<ConnEntry*>(mem_.data());
  buckets_ = reinterpret_cast<std::atomic<uint32_t>*>(mem_.data() + size_t(capacity_) * sizeof(ConnEntry));
  ws_ = std::vector<WorkerState>(size_t(workers_));
  // Worker w owns buckets w, w + workers, ...
  for (int w = 0; w < workers_; ++w)
    ws_[size_t(w)].owned = (uint64_t(nb) - uint64_t(w) + uint64_t(workers_) - 1) / uint64_t(workers_);
  // Any worker may retire every entry at once (it owns the buckets of
  // both keys), so each limbo has room for all.
  for (auto& w : ws_) w.limbo = zeroedArray<uint32_t>(capacity_);
  backend_active_.reset(new std::atomic<int32_t>[kBackendSlots]());
}

ConnTable::~ConnTable() {
  for (auto& w : ws_) munmap(w.limbo, size_t(capacity_) * sizeof(uint32_t));
}

namespace {

size_t resident(const void* p, size_t bytes) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  const size_t pages = (bytes + page - 1) / page;
  std::vector<unsigned char> in(pages);
  if (mincore(const_cast<void*>(p), bytes, in.data()) != 0) return 0;
  size_t n = 0;
  for (unsigned char c : in) n += c & 1;
  return n * page;
}

}  // namespace

size_t ConnTable::residentBytes() const {
  return resident(entries_, size_t(capacity_) * sizeof(ConnEntry)) +
         resident(buckets_, (size_t(bucket_mask_) + 1) * sizeof(uint32_t));
}

ConnHit ConnTable::find(const FlowKey& k, uint32_t now_ms) const { return findIn(bucketOf(k), k, now_ms); }

void ConnTable::noteFull(uint32_t now_ms) {
  // A store only when the second changes: other workers read this line
  // once per loop iteration.
  if (full_ms_.load(std::memory_order_relaxed) / 1000 != now_ms / 1000)
    full_ms_.store(now_ms | 1, std::memory_order_relaxed);
}

uint32_t ConnTable::popFree() {
  uint64_t head = free_head_.load(std::memory_order_acquire);
  for (;;) {
    const uint32_t idx = uint32_t(head);
    if (idx == kNil) {
      // Never used entries come after the freed ones.
      uint32_t fresh = unused_.load(std::memory_order_relaxed);
      while (fresh < capacity_)
        if (unused_.compare_exchange_weak(fresh, fresh + 1, std::memory_order_relaxed)) return fresh;
      return kNil;
    }
    const uint32_t next = entries_[idx].next[0].load(std::memory_order_relaxed);
    const uint64_t want = (((head >> 32) + 1) << 32) | next;
    if (free_head_.compare_exchange_weak(head, want, std::memory_order_acq_rel, std::memory_order_acquire)) return idx;
  }
}

void ConnTable::pushFree(uint32_t idx) {
  uint64_t head = free_head_.load(std::memory_order_relaxed);
  for (;;) {
    entries_[idx].next[0].store(uint32_t(head), std::memory_order_relaxed);
    const uint64_t want = (((head >> 32) + 1) << 32) | idx;
    if (free_head_.compare_exchange_weak(head, want, std::memory_order_release, std::memory_order_relaxed)) return;
  }
}

uint32_t ConnTable::allocate(WorkerState& ws) {
  if (ws.cached == 0) {
    while (ws.cached < kCacheSize / 2) {
      const uint32_t idx = popFree();
      if (idx == kNil) break;
      ws.cache[ws.cached++] = idx;
    }
    if (ws.cached == 0) return kNil;
  }
  return ws.cache[--ws.cached];
}

void ConnTable::release(WorkerState& ws, uint32_t idx) {
  if (ws.cached == kCacheSize) {
    while (ws.cached > kCacheSize / 2) pushFree(ws.cache[--ws.cached]);
  }
  ws.cache[ws.cached++] = idx;
}

ConnEntry* ConnTable::insert(int worker, const FlowKey& orig, const FlowKey& reply, ConnState s, uint32_t now_ms,
                             const ConnSettings& cfg, Replies replies) {
  WorkerState& ws = ws_[size_t(worker)];
  const uint32_t idx = allocate(ws);
  if (idx == kNil) {
    noteFull(now_ms);
    return nullptr;
  }
  ConnEntry& e = entries_[idx];
  const FlowKey keys[2] = {orig, reply};
  for (int d = 0; d < 2; ++d) {
    e.key[d][0].store(keys[d].addrs, std::memory_order_relaxed);
    e.key[d][1].store(keys[d].rest, std::memory_order_relaxed);
  }
  e.state.store(uint8_t(s), std::memory_order_relaxed);
  // Never on the reply chain: as if already unlinked from it, so that the
  // sweep retires it from the original chain alone.
  const bool both = replies == Replies::kFound;
  e.flags.store(both ? 0 : kUnlinked1, std::memory_order_relaxed);
  e.aux.store(0, std::memory_order_relaxed);
  uint32_t expires = now_ms + cfg.timeout(s, orig.proto());
  e.expires_ms.store(expires ? expires : 1, std::memory_order_relaxed);  // 0 means free
  push(idx, 0, orig);
  if (both) push(idx, 1, reply);
  return &e;
}

void ConnTable::push(uint32_t idx, int dir, const FlowKey& k) {
  ConnEntry& e = entries_[idx];
  std::atomic<uint32_t>& head = buckets_[bucketOf(k)];
  uint32_t old = head.load(std::memory_order_relaxed);
  do {
    e.next[dir].store(old, std::memory_order_relaxed);
  } while (!head.compare_exchange_weak(old, linkOf(idx, dir), std::memory_order_release, std::memory_order_relaxed));
}

bool ConnTable::oldest(const FlowKey& k, uint32_t link) const {
  uint32_t last = kEnd;
  for (uint32_t l = buckets_[bucketOf(k)].load(std::memory_order_acquire); l != kEnd;) {
    const ConnEntry& e = entries_[idxOf(l)];
    const int dir = dirOf(l);
    if (e.key[dir][0].load(std::memory_order_relaxed) == k.addrs &&
        e.key[dir][1].load(std::memory_order_relaxed) == k.rest && !(e.flags.load(std::memory_order_acquire) & kDying))
      last = l;
    l = e.next[dir].load(std::memory_order_acquire);
  }
  return last == link;
}

ConnEntry* ConnTable::useMapping(const FlowKey& inside, uint32_t now_ms) {
  ConnHit h = find(inside, now_ms);
  if (!h.e || h.dir != 0 || !(h.e->flags.load(std::memory_order_acquire) & kMapping)) return nullptr;
  uint32_t aux = h.e->aux.load(std::memory_order_relaxed);
  do {
    if (aux & kClosing) return nullptr;
  } while (!h.e->aux.compare_exchange_weak(aux, aux + 2, std::memory_order_acq_rel));
  return h.e;
}

ConnEntry* ConnTable::createMapping(int worker, const FlowKey& inside, const FlowKey& outside, uint32_t now_ms,
                                    bool* full) {
  if (find(outside, now_ms).e) return nullptr;
  WorkerState& ws = ws_[size_t(worker)];
  const uint32_t idx = allocate(ws);
  if (idx == kNil) {
    noteFull(now_ms);
    *full = true;
    return nullptr;
  }
  ConnEntry& e = entries_[idx];
  const FlowKey keys[2] = {inside, outside};
  for (int d = 0; d < 2; ++d) {
    e.key[d][0].store(keys[d].addrs, std::memory_order_relaxed);
    e.key[d][1].store(keys[d].rest, std::memory_order_relaxed);
  }
  e.state.store(uint8_t(ConnState::kReplied), std::memory_order_relaxed);
  e.flags.store(kMapping, std::memory_order_relaxed);
  e.aux.store(2, std::memory_order_relaxed);
  e.expires_ms.store(now_ms + kMappingHoldMs, std::memory_order_relaxed);
  // The outside endpoint first: it must be this mapping's alone before the
  // inside one can find it.
  push(idx, 1, outside);
  if (!oldest(outside, linkOf(idx, 1))) {
    e.flags.fetch_or(kDying | kUnlinked0, std::memory_order_acq_rel);  // never on chain 0
    return nullptr;
  }
  push(idx, 0, inside);
  if (!oldest(inside, linkOf(idx, 0))) {
    e.flags.fetch_or(kDying, std::memory_order_acq_rel);
    return useMapping(inside, now_ms);
  }
  return &e;
}

void ConnTable::unlink(uint32_t b, uint32_t link) {
  std::atomic<uint32_t>& head = buckets_[b];
  ConnEntry& e = entries_[idxOf(link)];
  const uint32_t after = e.next[dirOf(link)].load(std::memory_order_relaxed);
  uint32_t expected = link;
  if (head.compare_exchange_strong(expected, after, std::memory_order_acq_rel)) return;
  // Not the head (any more): find the predecessor. Insertions only push at
  // the head, so it is on the chain from the current head, and only this
  // worker (the bucket's owner) changes links of published entries.
  uint32_t cur = head.load(std::memory_order_acquire);
  while (cur != kEnd) {
    ConnEntry& p = entries_[idxOf(cur)];
    std::atomic<uint32_t>& next = p.next[dirOf(cur)];
    const uint32_t n = next.load(std::memory_order_relaxed);
    if (n == link) {
      next.store(after, std::memory_order_release);
      return;
    }
    cur = n;
  }
}

void ConnTable::sweepBucket(WorkerState& ws, uint32_t b, uint32_t now_ms, Swept& out) {
  uint32_t link = buckets_[b].load(std::memory_order_acquire);
  while (link != kEnd) {
    const uint32_t idx = idxOf(link);
    const int dir = dirOf(link);
    ConnEntry& e = entries_[idx];
    const uint32_t next = e.next[dir].load(std::memory_order_acquire);
    uint8_t flags = e.flags.load(std::memory_order_acquire);
    if (!(flags & kDying) && int32_t(e.expires_ms.load(std::memory_order_relaxed) - now_ms) <= 0) {
      // A mapping goes only once no connection uses it, and takes no
      // new user from then on.
      uint32_t unused = 0;
      if (!(flags & kMapping) || e.aux.compare_exchange_strong(unused, kClosing, std::memory_order_acq_rel))
        flags = e.flags.fetch_or(kDying, std::memory_order_acq_rel) | kDying;
    }
    if (flags & kDying) {
      unlink(b, link);
      const uint8_t mine = dir ? kUnlinked1 : kUnlinked0;
      const uint8_t before = e.flags.fetch_or(mine, std::memory_order_acq_rel);
      constexpr uint8_t kGone = kDying | kUnlinked0 | kUnlinked1;
      if (((before | mine) & kGone) == kGone) {
        // Off both chains: give back its mapping's use (or its backend's
        // count), free it after the grace period.
        if (before & kMapping) {
          ++out.mappings;
        } else {
          ++out.connections;
          if (const uint32_t aux = e.aux.load(std::memory_order_relaxed)) {
            if (before & kBackend)
              backend_active_[aux - 1].fetch_sub(1, std::memory_order_relaxed);
            else
              release(&entries_[aux - 1], now_ms);
          }
        }
        ws.limbo[ws.limbo_tail++ % capacity_] = idx;
      }
    }
    link = next;
  }
}

ConnTable::Swept ConnTable::sweep(int worker, uint32_t now_ms, uint64_t now_ns, uint32_t period_ms) {
  WorkerState& ws = ws_[size_t(worker)];
  // Free what waited long enough. One epoch for all retired in one sweep:
  // the entries after limbo_head were retired after the epoch was taken.
  while (ws.limbo_head != ws.limbo_tail) {
    const uint32_t idx = ws.limbo[ws.limbo_head % capacity_];
    ConnEntry& e = entries_[idx];
    if (!qsbr_->passed(e.retired_epoch, workers_)) break;
    e.expires_ms.store(0, std::memory_order_relaxed);
    e.flags.store(0, std::memory_order_relaxed);
    release(ws, idx);
    ++ws.limbo_head;
  }

  // This worker's buckets: b = worker, worker + workers, ...; enough of
  // them to go round once a period: the time elapsed, in buckets, with
  // what was not a whole bucket carried to the next call. Four times as
  // fast for a period after an insertion found the table full: expired
  // connections hold the room new ones need.
  const uint64_t owned = ws.owned;
  const uint32_t full_ms = full_ms_.load(std::memory_order_relaxed);
  if (full_ms && now_ms - full_ms < period_ms) period_ms = std::max<uint32_t>(period_ms / 4, 250);
  const uint64_t period_ns = uint64_t(std::max<uint32_t>(period_ms, 1)) * 1'000'000;
  const uint64_t dt = std::min<uint64_t>(ws.last_sweep_ns ? now_ns - ws.last_sweep_ns : 0, period_ns);
  ws.last_sweep_ns = now_ns;
  ws.carry += owned * dt;
  const uint64_t due = ws.carry < period_ns ? 0 : ws.carry / period_ns;  // (a small table: mostly no division)
  ws.carry -= due * period_ns;
  const uint64_t n = std::min<uint64_t>({due, kSweepMax, owned});
  const uint64_t first_new = ws.limbo_tail;
  Swept retired;
  // The slice's chains run through entries all over the table (a cache
  // miss each in a table of millions). Their first entries are fetched
  // together before the walk, so that those misses overlap; and after it,
  // the first entries of the next slice (about as long) and the buckets of
  // the one after, so that the next calls, loop iterations later, find
  // them in the cache.
  const auto fetchSlice = [&](uint64_t at, uint64_t count, bool entries) {
    for (uint64_t i = 0; i < count; ++i, at = at + 1 == owned ? 0 : at + 1) {
      const std::atomic<uint32_t>& head = buckets_[at * uint64_t(workers_) + uint64_t(worker)];
      if (!entries) {
        __builtin_prefetch(&head);
      } else if (const uint32_t link = head.load(std::memory_order_relaxed); link != kEnd) {
        __builtin_prefetch(&entries_[idxOf(link)]);
      }
    }
  };
  // (No division here: this runs every loop iteration; n and ahead are
  // at most `owned`, so one subtraction wraps.)
  fetchSlice(ws.cursor, n, true);
  uint64_t at = ws.cursor;
  for (uint64_t i = 0; i < n; ++i, at = at + 1 == owned ? 0 : at + 1)
    sweepBucket(ws, uint32_t(at * uint64_t(workers_) + uint64_t(worker)), now_ms, retired);
  ws.cursor = at;
  const uint64_t ahead = std::min<uint64_t>(n, 64);
  fetchSlice(at, ahead, true);
  fetchSlice(at + ahead >= owned ? at + ahead - owned : at + ahead, ahead, false);
  if (ws.limbo_tail > first_new) {
    const uint64_t epoch = qsbr_->advance();
    for (uint64_t i = first_new; i < ws.limbo_tail; ++i) entries_[ws.limbo[i % capacity_]].retired_epoch = epoch;
  }
  return retired;
}

}  // namespace nfvgw
