// The run-to-completion worker: a native thread pinned to one core that
// receives a burst from each of its queues, pushes it through the pipeline,
// transmits what the pipeline produced, and repeats. Nothing here locks,
// allocates or throws once the loop runs.
//
// Poll modes: `busy` polls without pause (lowest latency, one core at 100%);
// `adaptive` polls while there is traffic and, after a short idle spell,
// blocks in poll() on the queues' file descriptors (fair on small machines,
// and honest in CPU accounting). A sleeping worker is offline for QSBR, so it
// never delays a configuration change.
#pragma once

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/frame_pool.h"
#include "core/qsbr.h"
#include "core/tap.h"
#include "core/worker_stats.h"
#include "io/port_queue.h"

namespace nfvgw {

enum class PollMode : uint8_t { kBusy, kAdaptive };

struct WorkerSettings {
  int id = 0;
  int core = -1;  // -1: not pinned
  PollMode mode = PollMode::kAdaptive;
  uint32_t burst = 32;
  uint32_t idle_spin_us = 200;  // adaptive: idle time before sleeping
  uint32_t sleep_ms = 10;       // adaptive: longest sleep in poll()
};

// What a pipeline sees of its worker while it processes a burst.
class WorkerCtx {
 public:
  WorkerCtx(FramePool* frame_pool, WorkerStats* worker_stats, int id, size_t ports)
      : pool(*frame_pool), stats(*worker_stats), worker_id(id), queues_(ports, nullptr), tx_(ports) {}

  FramePool& pool;
  WorkerStats& stats;
  const int worker_id;
  uint64_t now_ns = 0;  // taken once per loop iteration

  // The gateway's taps (traces, captures), and their armed flags as this
  // loop iteration saw them (0: off, nothing to do).
  Tap* tap = nullptr;
  TapWorker* tap_area = nullptr;
  uint32_t tap_on = 0;

  // Adds a record to p's trace; stages call it only when p.traced.
  __attribute__((noinline, cold)) void trace(const Pkt& p, TraceKind k, uint32_t a = 0, uint32_t b = 0,
                                             uint32_t c = 0) {
    if (tap_on) tap->record(*tap_area, tap_on, p, k, a, b, c);
  }

  // Frees the frame and counts the drop reason.
  void drop(const Pkt& p, Drop reason) {
    if (__builtin_expect(p.traced, 0)) trace(p, TraceKind::dropped, uint32_t(reason));
    stats.drop(reason);
    pool.free(p.addr);
  }
  // Frees a frame the pipeline has finished with (not a drop: e.g. an ARP
  // reply it learned from).
  void consume(const Pkt& p) {
    if (__builtin_expect(p.traced, 0)) trace(p, TraceKind::consumed);
    pool.free(p.addr);
  }

  // Queues a frame for transmission on `port`; sends when a batch is full.
  __attribute__((always_inline)) void send(const Pkt& p, uint16_t port) {
    if (__builtin_expect(tap_on != 0, 0)) tapSent(p, port);
    TxBatch& b = tx_[port];
    TxFrame& f = b.frames[b.n++];
    f.data = p.data;
    f.addr = p.addr;
    f.len = p.len;
    if (b.n == kMaxBurst) flushPort(port);
  }
  void flush() {
    for (uint16_t port = 0; port < tx_.size(); ++port)
      if (tx_[port].n) flushPort(port);
  }

  void setQueue(uint16_t port, PortQueue* q) { queues_[port] = q; }
  PortQueue* queue(uint16_t port) const { return queues_[port]; }
  size_t ports() const { return queues_.size(); }

 private:
  struct TxBatch {
    uint32_t n = 0;
    TxFrame frames[kMaxBurst];
  };
  __attribute__((noinline, cold)) void tapSent(const Pkt& p, uint16_t port) { tap->sent(*tap_area, tap_on, p, port); }
  __attribute__((noinline)) void flushPort(uint16_t port) {
    TxBatch& b = tx_[port];
    if (PortQueue* q = queues_[port]) {
      q->txBurst(b.frames, b.n);
    } else {
      for (uint32_t i = 0; i < b.n; ++i) {
        stats.drop(Drop::tx_error);
        pool.free(b.frames[i].addr);
      }
    }
    b.n = 0;
  }

  std::vector<PortQueue*> queues_;
  std::vector<TxBatch> tx_;
};

// The type-erased worker the gateway holds.
class WorkerBase {
 public:
  virtual ~WorkerBase() = default;
  virtual void start() = 0;
  virtual void stop() = 0;
  virtual const WorkerSettings& settings() const = 0;
  virtual const WorkerStats& stats() const = 0;
  virtual FramePool& pool() = 0;
  virtual WorkerStats& mutableStats() = 0;
  virtual void addQueue(uint16_t port, std::unique_ptr<PortQueue> q) = 0;
  virtual PortQueue* queue(uint16_t port) const = 0;
  virtual void wake() = 0;
  // The worker's clock (WorkerCtx::now_ns), for its queues.
  virtual const uint64_t* clock() const = 0;
  // Before start(): the gateway's taps and this worker's area in them.
  virtual void setTap(Tap* tap, TapWorker* area) = 0;
};

// Pipeline: begin(ctx) at the start of an iteration (takes the snapshot),
// process(ctx, pkts, n) per received burst, end(ctx) once the bursts are
// done (it may still send; it holds no snapshot pointer afterwards, before
// the quiescent point).
template <class Pipeline>
class Worker final : public WorkerBase {
 public:
  Worker(const WorkerSettings& s, FramePool pool, Pipeline pipeline, Qsbr* qsbr, size_t ports)
      : settings_(s),
        pool_(std::move(pool)),
        pipeline_(std::move(pipeline)),
        qsbr_(qsbr),
        queues_(ports),
        ctx_(&pool_, &stats_, s.id, ports) {
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) throw Error(err::kWorker, "worker " + std::to_string(s.id) + ": eventfd", errno);
  }
  ~Worker() override {
    stop();
    queues_.clear();  // queues release their frames before the pool goes
    close(wake_fd_);
  }

  void addQueue(uint16_t port, std::unique_ptr<PortQueue> q) override {
    ctx_.setQueue(port, q.get());
    queues_[port] = std::move(q);
  }
  PortQueue* queue(uint16_t port) const override { return queues_[port].get(); }
  const WorkerSettings& settings() const override { return settings_; }
  const WorkerStats& stats() const override { return stats_; }
  WorkerStats& mutableStats() override { return stats_; }
  FramePool& pool() override { return pool_; }
  Pipeline& pipeline() { return pipeline_; }

  void start() override {
    running_.store(true, std::memory_order_release);
    thread_ = std::thread([this] { run(); });
  }
  void stop() override {
    if (!thread_.joinable()) return;
    running_.store(false, std::memory_order_release);
    wake();
    thread_.join();
  }
  const uint64_t* clock() const override { return &ctx_.now_ns; }
  void setTap(Tap* tap, TapWorker* area) override {
    ctx_.tap = tap;
    ctx_.tap_area = area;
  }
  void wake() override {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t r = write(wake_fd_, &one, sizeof(one));
  }

 private:
  void pin() {
    std::string name = "nfvgw-w" + std::to_string(settings_.id);
    pthread_setname_np(pthread_self(), name.c_str());
    if (settings_.core < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(settings_.core, &set);
    // The gateway checked that the core exists; a failure here (a cpuset
    // changed under us) leaves the thread unpinned rather than stopping it.
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  }

  void run() {
    pin();
    const int id = settings_.id;
    const uint32_t burst = settings_.burst;
    const uint64_t idle_spin_ns = uint64_t(settings_.idle_spin_us) * 1000;
    Pkt pkts[kMaxBurst];
    std::vector<PortQueue*> rxq;
    std::vector<pollfd> fds;
    for (auto& q : queues_) {
      if (!q) continue;
      rxq.push_back(q.get());
      if (q->pollFd() >= 0) fds.push_back({q->pollFd(), POLLIN, 0});
    }
    fds.push_back({wake_fd_, POLLIN, 0});

    qsbr_->online(id);
    uint64_t t0 = monoNs();
    uint64_t last_work = t0;
    bool tapped = false;
    while (running_.load(std::memory_order_acquire)) {
      ctx_.now_ns = t0;
      // Taps: one load per iteration; see core/tap.h.
      ctx_.tap_on = ctx_.tap ? ctx_.tap->armed.load(std::memory_order_relaxed) : 0;
      if (__builtin_expect(ctx_.tap_on != 0, 0)) {
        std::atomic_thread_fence(std::memory_order_acquire);
        tapped = true;
      } else if (__builtin_expect(tapped, 0)) {
        // The descriptors keep what the receive path does not write: no
        // stale trace mark may outlive the trace.
        for (Pkt& p : pkts) p.traced = 0;
        tapped = false;
      }
      stats_.heartbeat_ns.set(t0);
      stats_.pool_free.set(pool_.available());
      pipeline_.begin(ctx_);
      uint32_t work = 0;
      for (PortQueue* q : rxq) {
        uint32_t n = q->rxBurst(pkts, burst);
        if (n == 0) continue;
        stats_.burst_hist[burstBin(n)].add();
        stats_.burst_sum.add(n);
        work += n;
        if (__builtin_expect(ctx_.tap_on != 0, 0)) ctx_.tap->received(*ctx_.tap_area, ctx_.tap_on, pkts, n);
        pipeline_.process(ctx_, pkts, n);
      }
      pipeline_.end(ctx_);
      ctx_.flush();
      for (PortQueue* q : rxq) q->service();
      qsbr_->quiescent(id);

      uint64_t t1 = monoNs();
      if (work) {
        stats_.busy_ns.add(t1 - t0);
        stats_.busy_loops.add();
        last_work = t1;
      } else {
        if (settings_.mode == PollMode::kAdaptive && t1 - last_work > idle_spin_ns && txIdle(rxq)) {
          qsbr_->offline(id);
          stats_.sleeps.add();
          for (auto& f : fds) f.revents = 0;
          poll(fds.data(), fds.size(), int(settings_.sleep_ms));
          if (fds.back().revents & POLLIN) {
            uint64_t v;
            [[maybe_unused]] ssize_t r = read(wake_fd_, &v, sizeof(v));
          }
          qsbr_->online(id);
          t1 = monoNs();
        }
        stats_.idle_ns.add(t1 - t0);
        stats_.idle_loops.add();
      }
      t0 = t1;
    }
    qsbr_->offline(id);
  }

  static bool txIdle(const std::vector<PortQueue*>& qs) {
    for (PortQueue* q : qs)
      if (!q->txIdle()) return false;
    return true;
  }

  WorkerSettings settings_;
  WorkerStats stats_;
  FramePool pool_;
  Pipeline pipeline_;
  Qsbr* qsbr_;
  std::vector<std::unique_ptr<PortQueue>> queues_;
  WorkerCtx ctx_;
  std::atomic<bool> running_{false};
  std::thread thread_;
  int wake_fd_ = -1;
};

}  // namespace nfvgw
