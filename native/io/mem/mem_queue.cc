// The in-memory port; see mem_queue.h.
#include "io/mem/mem_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>

#include "core/clock.h"
#include "core/error.h"

namespace nfvgw {

MemQueue::MemQueue(const QueueEnv& env, MemRegion rx_mem, MemRegion tx_mem, uint32_t slots)
    : PortQueue(env), rx_ring_(std::move(rx_mem), slots), tx_ring_(std::move(tx_mem), slots) {
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) throw Error(err::kPortOpen, "mem port: eventfd", errno);
}

MemQueue::~MemQueue() { close(event_fd_); }

bool MemQueue::inject(const uint8_t* data, uint32_t len) {
  if (!rx_ring_.push(data, len)) return false;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t r = write(event_fd_, &one, sizeof(one));
  signals_.fetch_add(1, std::memory_order_release);
  return true;
}

uint32_t MemQueue::rxBurst(Pkt* pkts, uint32_t max) {
  FramePool& pool = *env_.pool;
  uint32_t n = 0;
  if (replay_) {
    if (replay_left_ == 0) {
      if (replay_done_ns_.load(std::memory_order_relaxed) == 0 && replay_received_.load() > 0) {
        const ThreadCounters::Counts counted = replay_counters_.read();
        replay_counters_.close();
        replay_cycles_.store(counted.cycles, std::memory_order_relaxed);
        replay_instructions_.store(counted.instructions, std::memory_order_relaxed);
        replay_done_ns_.store(monoNs(), std::memory_order_release);
      }
      return 0;
    }
    if (replay_start_ns_.load(std::memory_order_relaxed) == 0 && replay_next_ >= replay_warmup_) {
      replay_timed_from_.store(replay_next_, std::memory_order_relaxed);
      replay_start_ns_.store(monoNs(), std::memory_order_relaxed);
      replay_counters_.open();  // on the worker's thread, which it counts
    }
    // With many flows the templates are far out of cache (a million of
    // them: over 100 MB), and the copy would wait on memory for every
    // frame: the first two lines of each are fetched kReplayAhead frames
    // before, as a NIC's frames arrive in the cache. Few templates stay
    // cached and are not fetched. The position wraps by a compare, not a
    // division a frame.
    const size_t count = templates_.size();
    const bool fetch = count > kReplayCached;
    size_t at = size_t(replay_next_ % count);
    size_t ahead = size_t((replay_next_ + kReplayAhead) % count);
    while (n < max && replay_left_ > 0) {
      const std::vector<uint8_t>& t = templates_[at];
      Pkt& p = pkts[n];
      if (!pool.allocPkt(&p, env_.port)) {
        env_.stats->drop(Drop::rx_no_buffer);
        break;
      }
      if (fetch) {
        const std::vector<uint8_t>& later = templates_[ahead];
        __builtin_prefetch(later.data());
        if (later.size() > 64) __builtin_prefetch(later.data() + 64);
        if (++ahead == count) ahead = 0;
      }
      std::memcpy(p.data, t.data(), t.size());
      p.len = uint32_t(t.size());
      if (++at == count) at = 0;
      ++replay_next_;
      --replay_left_;
      ++n;
    }
    replay_received_.store(replay_next_, std::memory_order_relaxed);
  } else {
    uint32_t len;
    while (n < max) {
      const uint8_t* d = rx_ring_.peek(&len);
      if (!d) break;
      if (len > kFrameDataMax) {
        env_.stats->drop(Drop::rx_truncated);
        rx_ring_.pop();
        continue;
      }
      Pkt& p = pkts[n];
      if (!pool.allocPkt(&p, env_.port)) {
        env_.stats->drop(Drop::rx_no_buffer);
        break;  // leave the frame in the ring for the next poll
      }
      std::memcpy(p.data, d, len);
      p.len = len;
      // Past the frame is what an earlier packet left: reading it is a bug
      // (under ASan, reported; see FramePool).
      NFVGW_POISON(p.data + len, kFrameSize - p.headroom() - len);
      rx_ring_.pop();
      ++n;
    }
    uint64_t signals = signals_.load(std::memory_order_acquire);
    if (n == 0 && signals != seen_signals_) {
      // Clear the wakeup once the ring is empty. A write that lands after
      // this read is followed by a new signal, which the next poll sees.
      seen_signals_ = signals;
      uint64_t v;
      [[maybe_unused]] ssize_t r = read(event_fd_, &v, sizeof(v));
    }
  }
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < n; ++i) bytes += pkts[i].len;
  stats.rx_packets.add(n);
  stats.rx_bytes.add(bytes);
  return n;
}

void MemQueue::txBurst(TxFrame* frames, uint32_t n) {
  FramePool& pool = *env_.pool;
  uint64_t sent = 0, bytes = 0;
  for (uint32_t i = 0; i < n; ++i) {
    TxFrame& p = frames[i];
    if (sink_ || tx_ring_.push(p.data, p.len)) {
      ++sent;
      bytes += p.len;
    } else {
      env_.stats->drop(Drop::tx_ring_full);
      stats.tx_dropped.add();
    }
    pool.free(p.addr);
  }
  stats.tx_packets.add(sent);
  stats.tx_bytes.add(bytes);
}

void MemQueue::setReplay(std::vector<std::vector<uint8_t>> templates, uint64_t count, uint64_t warmup) {
  for (auto& t : templates) {
    if (t.empty() || t.size() > kFrameDataMax)
      throw Error(err::kArgument, "replay frame of " + std::to_string(t.size()) + " bytes: must be 1.." +
                                      std::to_string(kFrameDataMax));
  }
  if (templates.empty()) throw Error(err::kArgument, "replay needs at least one frame");
  templates_ = std::move(templates);
  replay_left_ = count;
  replay_next_ = 0;
  replay_warmup_ = warmup < count ? warmup : 0;
  replay_ = true;
  sink_ = true;
}

MemQueue::ReplayResult MemQueue::replayResult() const {
  const uint64_t received = replay_received_.load(std::memory_order_relaxed);
  // done_ns first: its release store follows the counts' stores, so once
  // it is set the counts read after it are the final ones.
  const uint64_t done_ns = replay_done_ns_.load(std::memory_order_acquire);
  return {received,
          received - replay_timed_from_.load(std::memory_order_relaxed),
          replay_start_ns_.load(std::memory_order_relaxed),
          done_ns,
          replay_cycles_.load(std::memory_order_relaxed),
          replay_instructions_.load(std::memory_order_relaxed)};
}

}  // namespace nfvgw
