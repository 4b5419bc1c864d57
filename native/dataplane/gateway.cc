// Opening ports, building workers, publishing snapshots; see gateway.h.
#include "dataplane/gateway.h"

#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "core/error.h"
#include "core/netns.h"
#include "dataplane/l3_pipeline.h"
#include "io/afpacket/afpacket_queue.h"
#include "io/afxdp/afxdp_queue.h"

namespace nfvgw {

namespace {

std::string describe(const PortSpec& p) {
  return "port " + p.name + (p.ifname.empty() ? std::string() : " (" + p.ifname + ")");
}

void checkSpec(const GatewaySpec& s) {
  if (s.workers.empty() || s.workers.size() > size_t(kMaxWorkers))
    throw Error(err::kArgument, "between 1 and " + std::to_string(kMaxWorkers) + " workers are needed");
  if (s.burst == 0 || s.burst > kMaxBurst) throw Error(err::kArgument, "burst must be 1.." + std::to_string(kMaxBurst));
  if (s.ports.empty() || s.ports.size() > 1024) throw Error(err::kArgument, "between 1 and 1024 ports are needed");
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  sched_getaffinity(0, sizeof(allowed), &allowed);
  std::set<int> cores;
  for (size_t i = 0; i < s.workers.size(); ++i) {
    int core = s.workers[i].core;
    if (core < 0) continue;
    if (core >= CPU_SETSIZE || !CPU_ISSET(core, &allowed))
      throw Error(err::kArgument, "worker " + std::to_string(i) + ": core " + std::to_string(core) +
                                      " is not available to this process");
    if (!cores.insert(core).second)
      throw Error(err::kArgument, "worker " + std::to_string(i) + ": core " + std::to_string(core) +
                                      " is already used by another worker");
  }
  std::set<std::string> names;
  for (const PortSpec& p : s.ports) {
    if (!names.insert(p.name).second) throw Error(err::kArgument, "two ports are named " + p.name);
    if (p.kind != PortKind::kMem && p.ifname.empty()) throw Error(err::kArgument, describe(p) + ": no interface");
    if (p.ring_size < 64 || p.ring_size > 16384 || (p.ring_size & (p.ring_size - 1)))
      throw Error(err::kArgument, describe(p) + ": ring size must be a power of two in 64..16384");
  }
}

uint32_t roundPow2(uint32_t v) {
  uint32_t r = 1;
  while (r < v) r <<= 1;
  return r;
}

}  // namespace

Gateway::Gateway(GatewaySpec spec) : spec_(std::move(spec)) {
  checkSpec(spec_);
  neigh_ = std::make_unique<NeighborTable>(spec_.neighbor_capacity);
  tap_ = std::make_unique<Tap>(&qsbr_, int(spec_.workers.size()));
  try {
    openPorts();
    createWorkers();
  } catch (...) {
    closeAll();
    throw;
  }
}

Gateway::~Gateway() { stop(); }

void Gateway::openPorts() {
  const uint32_t workers = uint32_t(spec_.workers.size());
  bool any_xdp = false, zc_everywhere = true;
  for (const PortSpec& ps : spec_.ports) {
    PortState st;
    st.spec = ps;
    if (ps.kind == PortKind::kMem) {
      st.dev.name = ps.name;
      std::copy(ps.mac, ps.mac + 6, st.dev.mac);
      st.dev.mtu = ps.mtu;
      st.dev.rx_queues = st.dev.tx_queues = workers;
      st.dev.up = true;
    } else {
      NetnsScope ns(ps.netns);
      try {
        st.dev = queryNetDev(ps.ifname);
      } catch (const Error& e) {
        throw Error(e.code(), "port " + ps.name + ": " + e.what());
      }
      if (!st.dev.up) warnings_.push_back(describe(ps) + ": the interface is down; no traffic until it is up");
      if (ps.kind == PortKind::kAfXdp) {
        any_xdp = true;
        if (st.dev.rx_queues < workers)
          throw Error(err::kPortOpen, describe(ps) + ": has " + std::to_string(st.dev.rx_queues) +
                                          " receive queue(s) and the config runs " + std::to_string(workers) +
                                          " workers, each of which needs its own: add queues (ethtool -L " + ps.ifname +
                                          " combined " + std::to_string(workers) + ") or run fewer workers");
        if (st.dev.rx_queues > workers)
          warnings_.push_back(describe(ps) + ": has " + std::to_string(st.dev.rx_queues) + " receive queues and " +
                              std::to_string(workers) + " workers; frames on queues " + std::to_string(workers) + ".." +
                              std::to_string(st.dev.rx_queues - 1) + " go to the kernel. Match them: ethtool -L " +
                              ps.ifname + " combined " + std::to_string(workers));
        st.stale_programs_removed = XdpSteering::removeStale(st.dev.ifindex);
        if (st.stale_programs_removed)
          warnings_.push_back(describe(ps) + ": removed an XDP program left behind by an earlier run");
        bool zc = false;
        if (ps.zero_copy != ZeroCopy::kOff) zc = AfXdpQueue::probeZeroCopy(ps.ifname, 0);
        if (ps.zero_copy == ZeroCopy::kOn && !zc)
          throw Error(err::kPortOpen,
                      describe(ps) + ": zero-copy AF_XDP was required and the driver does not offer it");
        zc_everywhere = zc_everywhere && zc;
      }
    }
    ports_.push_back(st);
    PortIdentity id;
    id.name = ps.name;
    std::copy(st.dev.mac, st.dev.mac + 6, id.mac);
    id.mtu = st.dev.mtu;
    identities_.push_back(id);
  }
  // One UMEM per worker serves all its AF_XDP sockets, and sockets sharing a
  // UMEM share its mode: zero-copy only when every AF_XDP port has it.
  const bool zero_copy = any_xdp && zc_everywhere;
  xdp_.resize(ports_.size());
  for (size_t i = 0; i < ports_.size(); ++i) {
    PortState& st = ports_[i];
    if (st.spec.kind != PortKind::kAfXdp) continue;
    st.zero_copy = zero_copy;
    xdp_[i] = std::make_unique<XdpSteering>(describe(st.spec), st.spec.netns, spec_.bpf_dir + "/xsk_steer.bpf.o",
                                            st.dev.ifindex, st.spec.xdp_mode);
    st.xdp_native = xdp_[i]->native();
  }
}

void Gateway::createWorkers() {
  const size_t nports = ports_.size();
  uint32_t xdp_ring = 0;
  uint64_t frames = uint64_t(kMaxBurst) * (2 * nports + 8) + 1024;
  for (const PortState& st : ports_) {
    if (st.spec.kind == PortKind::kAfXdp) {
      frames += 2 * uint64_t(st.spec.ring_size);
      xdp_ring = std::max(xdp_ring, st.spec.ring_size);
    }
  }
  std::vector<std::string> mem_warnings;
  conntrack_ = std::make_unique<ConnTable>(spec_.conntrack_capacity, int(spec_.workers.size()), &qsbr_, spec_.hugepages,
                                           &mem_warnings);
  for (size_t w = 0; w < spec_.workers.size(); ++w) {
    WorkerSettings ws;
    ws.id = int(w);
    ws.core = spec_.workers[w].core;
    ws.mode = spec_.workers[w].mode;
    ws.burst = spec_.burst;
    ws.idle_spin_us = spec_.idle_spin_us;
    FramePool pool(MemRegion::allocate(frames * kFrameSize, spec_.hugepages,
                                       "worker " + std::to_string(w) + " packet buffers", &mem_warnings));
    std::unique_ptr<WorkerBase> worker;
    if (spec_.pipeline == PipelineKind::kFloor) {
      worker = std::make_unique<Worker<FloorPipeline>>(ws, std::move(pool), FloorPipeline(), &qsbr_, nports);
    } else if (spec_.pipeline == PipelineKind::kPatch) {
      worker = std::make_unique<Worker<PatchPipeline>>(ws, std::move(pool), PatchPipeline(), &qsbr_, nports);
    } else {
      worker = std::make_unique<Worker<L3Pipeline>>(
          ws, std::move(pool), L3Pipeline(&current_, neigh_.get(), conntrack_.get()), &qsbr_, nports);
    }
    worker->setTap(tap_.get(), &tap_->worker(int(w)));
    std::shared_ptr<XskUmem> umem;
    for (size_t i = 0; i < nports; ++i) {
      const PortState& st = ports_[i];
      QueueEnv env{&worker->pool(), &worker->mutableStats(), worker->clock(), uint16_t(i), uint16_t(w)};
      const std::string where = describe(st.spec) + " queue " + std::to_string(w);
      switch (st.spec.kind) {
        case PortKind::kAfXdp: {
          NetnsScope ns(st.spec.netns);
          if (!umem) umem = std::make_shared<XskUmem>(&worker->pool(), xdp_ring);
          AfXdpQueueConfig cfg;
          cfg.where = where;
          cfg.ifname = st.spec.ifname;
          cfg.queue_id = uint32_t(w);
          cfg.xsks_map_fd = xdp_[i]->xsksMapFd();
          cfg.zero_copy = st.zero_copy;
          cfg.ring_size = st.spec.ring_size;
          cfg.tx_drain_ns = uint64_t(spec_.tx_drain_us) * 1000;
          worker->addQueue(uint16_t(i), std::make_unique<AfXdpQueue>(env, umem, cfg));
          break;
        }
        case PortKind::kAfPacket: {
          NetnsScope ns(st.spec.netns);
          AfPacketQueueConfig cfg;
          cfg.where = where;
          cfg.ifindex = st.dev.ifindex;
          cfg.fanout_group = spec_.workers.size() > 1 ? int((uint32_t(getpid()) * 31 + uint32_t(i)) & 0xffff) : 0;
          if (cfg.fanout_group == 0 && spec_.workers.size() > 1) cfg.fanout_group = 1;
          cfg.tx_frames = st.spec.ring_size;
          cfg.tx_drain_ns = uint64_t(spec_.tx_drain_us) * 1000;
          worker->addQueue(uint16_t(i), std::make_unique<AfPacketQueue>(env, cfg));
          break;
        }
        case PortKind::kMem: {
          uint32_t slots = roundPow2(std::max(64u, st.spec.mem_slots));
          std::string what = "mem port " + st.spec.name + " rings";
          MemRegion rx = MemRegion::allocate(SlotRing::bytesFor(slots), spec_.hugepages, what, &mem_warnings);
          MemRegion tx = MemRegion::allocate(SlotRing::bytesFor(slots), spec_.hugepages, what, &mem_warnings);
          worker->addQueue(uint16_t(i), std::make_unique<MemQueue>(env, std::move(rx), std::move(tx), slots));
          break;
        }
      }
    }
    workers_.push_back(std::move(worker));
  }
  if (!mem_warnings.empty()) {
    // One warning, not one per region.
    std::string w = mem_warnings.front();
    if (mem_warnings.size() > 1) w += " (and " + std::to_string(mem_warnings.size() - 1) + " more regions)";
    warnings_.push_back(w);
  }
}

void Gateway::start(std::unique_ptr<Snapshot> first) {
  if (started_ || stopped_)
    throw Error(err::kState, started_ ? "the gateway is already running" : "the gateway was stopped");
  publish(std::move(first));
  for (auto& w : workers_) w->start();
  started_ = true;
}

void Gateway::publish(std::unique_ptr<Snapshot> next) {
  if (stopped_) throw Error(err::kState, "the gateway was stopped");
  const Snapshot* old = current_.exchange(next.release(), std::memory_order_seq_cst);
  if (old) retired_.emplace_back(qsbr_.advance(), old);
  reclaim(50);
}

size_t Gateway::reclaim(uint32_t wait_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    for (size_t i = 0; i < retired_.size();) {
      if (qsbr_.passed(retired_[i].first, int(workers_.size()))) {
        delete retired_[i].second;
        retired_[i] = retired_.back();
        retired_.pop_back();
      } else {
        ++i;
      }
    }
    if (retired_.empty() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return retired_.size();
}

void Gateway::stop() {
  if (stopped_) return;
  for (auto& w : workers_) w->stop();
  closeAll();
  // The connection table's memory (huge pages, 738 MiB at 10M) goes back
  // now, not when JavaScript collects the object; nothing reads it after
  // stop (the addon's calls check stopped()).
  conntrack_.reset();
  stopped_ = true;
}

void Gateway::closeAll() {
  for (auto& w : workers_) w->stop();
  workers_.clear();  // closes the sockets before their programs go
  for (auto& x : xdp_)
    if (x) x->detach();
  xdp_.clear();
  delete current_.exchange(nullptr);
  for (auto& r : retired_) delete r.second;
  retired_.clear();
}

MemQueue* Gateway::memQueue(uint16_t port, uint16_t worker) const {
  if (port >= ports_.size() || worker >= workers_.size() || ports_[port].spec.kind != PortKind::kMem) return nullptr;
  return static_cast<MemQueue*>(workers_[worker]->queue(port));
}

}  // namespace nfvgw
