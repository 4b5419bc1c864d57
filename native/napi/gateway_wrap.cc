// The Gateway class of the addon; see gateway_wrap.h.
#include "napi/gateway_wrap.h"

#include <node_api.h>

#include <functional>
#include <map>

#include "core/clock.h"
#include "core/hugemem.h"
#include "napi/convert.h"
#include "napi/errors.h"

namespace nfvgw::napi {

namespace {

const char* kindName(PortKind k) {
  switch (k) {
    case PortKind::kAfXdp:
      return "af_xdp";
    case PortKind::kAfPacket:
      return "af_packet";
    case PortKind::kMem:
      return "mem";
  }
  return "?";
}

// Builds a snapshot on a libuv thread (`build`: from a spec, or by editing
// a copy), then publishes it on the JS thread, where every other snapshot
// access happens.
class ApplyWorker : public Napi::AsyncWorker {
 public:
  using Build = std::function<std::unique_ptr<Snapshot>()>;
  // `base`: the generation the snapshot was derived from, which must still
  // be running when it is published (0: built from scratch).
  ApplyWorker(GatewayWrap* wrap, Build build, uint64_t base, Napi::Promise::Deferred d)
      : Napi::AsyncWorker(wrap->Env(), "nfvgw.apply"),
        wrap_(wrap),
        keep_alive_(Napi::Persistent(wrap->Value())),
        build_(std::move(build)),
        base_(base),
        deferred_(d) {}

  void Execute() override {
    try {
      snap_ = build_();
    } catch (const Error& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::exception& e) {
      code_ = "NFVGW_ERR_INTERNAL";
      SetError(e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Gateway* gw = wrap_->gateway();
    if (!gw || gw->stopped()) {
      deferred_.Reject(toJs(env, err::kState, "the gateway was closed before the configuration was applied").Value());
      return;
    }
    const Snapshot* cur = gw->current();
    if (base_ && (!cur || cur->generation != base_)) {
      deferred_.Reject(
          toJs(env, err::kState,
               "the change was made to generation " + std::to_string(base_) + ", which is no longer running")
              .Value());
      return;
    }
    if (cur && cur->generation > snap_->generation) {
      deferred_.Reject(toJs(env, err::kState,
                            "generation " + std::to_string(snap_->generation) + " is older than the running " +
                                std::to_string(cur->generation))
                           .Value());
      return;
    }
    try {
      gw->publish(std::move(snap_));
      deferred_.Resolve(env.Undefined());
    } catch (const Error& e) {
      deferred_.Reject(toJs(env, e).Value());
    }
  }

  void OnError(const Napi::Error& e) override {
    deferred_.Reject(toJs(Env(), code_.empty() ? "NFVGW_ERR_INTERNAL" : code_, e.Message()).Value());
  }

 private:
  GatewayWrap* wrap_;
  Napi::ObjectReference keep_alive_;  // the wrap outlives the operation
  Build build_;
  uint64_t base_;
  Napi::Promise::Deferred deferred_;
  std::unique_ptr<Snapshot> snap_;
  std::string code_;
};

uint32_t u32(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsNumber()) badArgument(info.Env(), std::string(what) + " must be a number");
  return info[i].As<Napi::Number>().Uint32Value();
}

// The (port, worker) mem queue named by the first two arguments.
MemQueue* memQueueArg(const Napi::CallbackInfo& info, const Gateway& gw) {
  uint32_t port = u32(info, 0, "port"), worker = u32(info, 1, "worker");
  MemQueue* q = gw.memQueue(uint16_t(port), uint16_t(worker));
  if (!q)
    badArgument(info.Env(),
                "port " + std::to_string(port) + " worker " + std::to_string(worker) + " is not a mem queue");
  return q;
}

Napi::Object requireObject(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsObject()) badArgument(info.Env(), std::string(what) + " must be an object");
  return info[i].As<Napi::Object>();
}

}  // namespace

Napi::Function GatewayWrap::define(Napi::Env env) {
  return DefineClass(env, "Gateway",
                     {
                         InstanceMethod<&GatewayWrap::start>("start"),
                         InstanceMethod<&GatewayWrap::apply>("apply"),
                         InstanceMethod<&GatewayWrap::changeRoutes>("changeRoutes"),
                         InstanceMethod<&GatewayWrap::close>("close"),
                         InstanceMethod<&GatewayWrap::info>("info"),
                         InstanceMethod<&GatewayWrap::stats>("stats"),
                         InstanceMethod<&GatewayWrap::routeLookup>("routeLookup"),
                         InstanceMethod<&GatewayWrap::vpcRouteLookup>("vpcRouteLookup"),
                         InstanceMethod<&GatewayWrap::neighbors>("neighbors"),
                         InstanceMethod<&GatewayWrap::flows>("flows"),
                         InstanceMethod<&GatewayWrap::flushFlows>("flushFlows"),
                         InstanceMethod<&GatewayWrap::natUsage>("natUsage"),
                         InstanceMethod<&GatewayWrap::lbStats>("lbStats"),
                         InstanceMethod<&GatewayWrap::memInject>("memInject"),
                         InstanceMethod<&GatewayWrap::memDrain>("memDrain"),
                         InstanceMethod<&GatewayWrap::memPending>("memPending"),
                         InstanceMethod<&GatewayWrap::memReplay>("memReplay"),
                         InstanceMethod<&GatewayWrap::memSink>("memSink"),
                         InstanceMethod<&GatewayWrap::replayResult>("replayResult"),
                         InstanceMethod<&GatewayWrap::traceStart>("traceStart"),
                         InstanceMethod<&GatewayWrap::traceRead>("traceRead"),
                         InstanceMethod<&GatewayWrap::captureStart>("captureStart"),
                         InstanceMethod<&GatewayWrap::captureRead>("captureRead"),
                     });
}

GatewayWrap::GatewayWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GatewayWrap>(info) {
  Napi::Env env = info.Env();
  Napi::Object spec = requireObject(info, 0, "spec");
  guard(env, [&] {
    gw_ = std::make_unique<Gateway>(toGatewaySpec(spec));
    return 0;
  });
  // If the process exits without close(), still stop the threads and take
  // the XDP programs off the interfaces.
  napi_add_env_cleanup_hook(env, cleanupHook, this);
  hook_installed_ = true;
}

GatewayWrap::~GatewayWrap() { shutdown(); }

void GatewayWrap::cleanupHook(void* self) {
  auto* w = static_cast<GatewayWrap*>(self);
  w->hook_installed_ = false;
  w->shutdown();
}

void GatewayWrap::shutdown() {
  if (hook_installed_) {
    napi_remove_env_cleanup_hook(Env(), cleanupHook, this);
    hook_installed_ = false;
  }
  if (gw_) gw_->stop();
}

Gateway& GatewayWrap::live(Napi::Env env) const {
  if (!gw_ || gw_->stopped()) throw toJs(env, err::kState, "the gateway is closed");
  return *gw_;
}

Napi::Value GatewayWrap::start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  Napi::Object snap = requireObject(info, 0, "snapshot");
  guard(env, [&] {
    gw.start(buildSnapshot(toSnapshotSpec(snap), gw.identities(), gw.mutableNeighbors()));
    return 0;
  });
  return env.Undefined();
}

Napi::Value GatewayWrap::apply(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  Napi::Object snap = requireObject(info, 0, "snapshot");
  // Shared, not moved into the lambda: std::function needs a copyable one.
  auto spec = std::make_shared<SnapshotSpec>(guard(env, [&] { return toSnapshotSpec(snap); }));
  NeighborTable* neighbors = gw.mutableNeighbors();
  auto build = [spec, ids = gw.identities(), neighbors] { return buildSnapshot(std::move(*spec), ids, neighbors); };
  auto deferred = Napi::Promise::Deferred::New(env);
  (new ApplyWorker(this, build, 0, deferred))->Queue();
  return deferred.Promise();
}

// changeRoutes(generation, changes): the running snapshot copied here (on
// the JS thread, where snapshots are retired, so it cannot go away under
// the copy), the touched VPC route tables built again on a libuv thread,
// published as `generation` if the copied one still runs then.
Napi::Value GatewayWrap::changeRoutes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  if (info.Length() < 1 || !info[0].IsNumber()) badArgument(env, "changeRoutes(generation, changes)");
  const uint64_t generation = uint64_t(info[0].As<Napi::Number>().Int64Value());
  Napi::Object o = requireObject(info, 1, "changes");
  auto changes = std::make_shared<RouteChangeSpec>(guard(env, [&] { return toRouteChanges(o); }));
  const Snapshot* cur = gw.current();
  if (!cur || !cur->overlay.enabled) throw toJs(env, err::kState, "the running configuration has no VPC overlay");
  auto copy = std::make_shared<Snapshot>(*cur);
  const uint64_t base = cur->generation;
  copy->generation = generation;
  auto build = [copy, changes] {
    copy->overlay.changeRoutes(changes->changes, std::move(changes->added));
    return std::make_unique<Snapshot>(std::move(*copy));
  };
  auto deferred = Napi::Promise::Deferred::New(env);
  (new ApplyWorker(this, build, base, deferred))->Queue();
  return deferred.Promise();
}

Napi::Value GatewayWrap::close(const Napi::CallbackInfo& info) {
  shutdown();
  return info.Env().Undefined();
}

Napi::Value GatewayWrap::info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  Napi::Object o = Napi::Object::New(env);
  Napi::Array ports = Napi::Array::New(env);
  for (size_t i = 0; i < gw.ports().size(); ++i) {
    const PortState& st = gw.ports()[i];
    Napi::Object p = Napi::Object::New(env);
    p.Set("name", st.spec.name);
    p.Set("kind", kindName(st.spec.kind));
    p.Set("interface", st.spec.ifname);
    p.Set("netns", st.spec.netns);
    p.Set("ifindex", st.dev.ifindex);
    p.Set("mac", macString(st.dev.mac));
    p.Set("mtu", st.dev.mtu);
    p.Set("rxQueues", st.dev.rx_queues);
    p.Set("up", st.dev.up);
    p.Set("zeroCopy", st.zero_copy);
    if (st.spec.kind == PortKind::kAfXdp) {
      p.Set("xdpMode", st.xdp_native ? "native" : "generic");
    } else {
      p.Set("xdpMode", env.Null());
    }
    ports.Set(uint32_t(i), p);
  }
  o.Set("ports", ports);
  Napi::Array workers = Napi::Array::New(env);
  for (size_t i = 0; i < gw.workerCount(); ++i) {
    const WorkerSettings& s = gw.worker(i).settings();
    Napi::Object w = Napi::Object::New(env);
    w.Set("id", s.id);
    w.Set("core", s.core);
    w.Set("pollMode", s.mode == PollMode::kBusy ? "busy" : "adaptive");
    w.Set("poolFrames", const_cast<WorkerBase&>(gw.worker(i)).pool().capacity());
    w.Set("hugePages", const_cast<WorkerBase&>(gw.worker(i)).pool().huge());
    workers.Set(uint32_t(i), w);
  }
  o.Set("workers", workers);
  o.Set("burst", gw.spec().burst);
  Napi::Array warnings = Napi::Array::New(env);
  for (size_t i = 0; i < gw.warnings().size(); ++i) warnings.Set(uint32_t(i), gw.warnings()[i]);
  o.Set("warnings", warnings);
  return o;
}

Napi::Value GatewayWrap::stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  gw.reclaim(0);
  const uint64_t now = monoNs();
  Napi::Object o = Napi::Object::New(env);
  const Snapshot* snap = gw.current();
  o.Set("generation", snap ? double(snap->generation) : 0.0);
  o.Set("running", gw.started());

  Napi::Array workers = Napi::Array::New(env);
  for (size_t i = 0; i < gw.workerCount(); ++i) {
    const WorkerStats& ws = gw.worker(i).stats();
    Napi::Object w = Napi::Object::New(env);
    w.Set("id", double(i));
    w.Set("busyNs", double(ws.busy_ns.get()));
    w.Set("idleNs", double(ws.idle_ns.get()));
    w.Set("busyLoops", double(ws.busy_loops.get()));
    w.Set("idleLoops", double(ws.idle_loops.get()));
    w.Set("sleeps", double(ws.sleeps.get()));
    uint64_t hb = ws.heartbeat_ns.get();
    w.Set("heartbeatAgeMs", hb ? double(now - hb) / 1e6 : -1.0);
    w.Set("poolFree", double(ws.pool_free.get()));
    Napi::Array hist = Napi::Array::New(env, kBurstBins);
    for (uint32_t b = 0; b < kBurstBins; ++b) hist.Set(b, double(ws.burst_hist[b].get()));
    w.Set("burstHistogram", hist);
    w.Set("burstSum", double(ws.burst_sum.get()));
    Napi::Array drops = Napi::Array::New(env, kDropCount);
    for (uint32_t d = 0; d < kDropCount; ++d) drops.Set(d, double(ws.drops[d].get()));
    w.Set("drops", drops);
    Napi::Array events = Napi::Array::New(env, kEventCount);
    for (uint32_t e = 0; e < kEventCount; ++e) events.Set(e, double(ws.events[e].get()));
    w.Set("events", events);
    workers.Set(uint32_t(i), w);
  }
  o.Set("workers", workers);

  Napi::Array ports = Napi::Array::New(env);
  for (size_t p = 0; p < gw.ports().size(); ++p) {
    Napi::Object po = Napi::Object::New(env);
    po.Set("name", gw.ports()[p].spec.name);
    Napi::Array queues = Napi::Array::New(env);
    for (size_t w = 0; w < gw.workerCount(); ++w) {
      const PortQueue* q = gw.worker(w).queue(uint16_t(p));
      if (!q) continue;
      KernelQueueStats ks = q->kernelStats();
      Napi::Object qo = Napi::Object::New(env);
      qo.Set("queue", double(w));
      qo.Set("rxPackets", double(q->stats.rx_packets.get()));
      qo.Set("rxBytes", double(q->stats.rx_bytes.get()));
      qo.Set("txPackets", double(q->stats.tx_packets.get()));
      qo.Set("txBytes", double(q->stats.tx_bytes.get()));
      qo.Set("txDropped", double(q->stats.tx_dropped.get()));
      qo.Set("kernelRxDropped", double(ks.rx_dropped));
      qo.Set("kernelRxFillEmpty", double(ks.rx_fill_empty));
      qo.Set("kernelRxInvalid", double(ks.rx_invalid));
      qo.Set("kernelTxInvalid", double(ks.tx_invalid));
      queues.Set(queues.Length(), qo);
    }
    po.Set("queues", queues);
    ports.Set(uint32_t(p), po);
  }
  o.Set("ports", ports);

  HugeMemUsage hm = hugeMemUsage();
  Napi::Object mem = Napi::Object::New(env);
  mem.Set("hugeBytes", double(hm.huge_bytes));
  mem.Set("normalBytes", double(hm.normal_bytes));
  mem.Set("reservedPages", double(hm.reserved_pages));
  o.Set("memory", mem);

  const NeighborTable& nt = gw.neighbors();
  uint32_t resolved = nt.resolved(), incomplete = nt.created() - nt.resolved();
  Napi::Object neigh = Napi::Object::New(env);
  neigh.Set("resolved", resolved);
  neigh.Set("incomplete", incomplete);
  neigh.Set("capacity", nt.capacity());
  o.Set("neighbors", neigh);
  o.Set("routes", snap ? double(snap->routes.routeCount()) : 0.0);
  o.Set("routeTableBytes", snap ? double(snap->routes.memoryBytes()) : 0.0);
  Napi::Object ct = Napi::Object::New(env);
  ct.Set("capacity", double(gw.conntrack().capacity()));
  ct.Set("bytes", double(gw.conntrack().memoryBytes()));
  ct.Set("residentBytes", double(gw.conntrack().residentBytes()));
  o.Set("conntrack", ct);
  return o;
}

namespace {

// Which connections a flows() or flushFlows() call means: every field that
// is given must match one side of the connection.
struct FlowFilter {
  int64_t zone = -1, ip = -1, port = -1, proto = -1, state = -1;
  uint32_t limit = 1000;

  static FlowFilter from(const Napi::CallbackInfo& info) {
    FlowFilter f;
    if (info.Length() == 0 || info[0].IsUndefined()) return f;
    Napi::Object o = requireObject(info, 0, "filter");
    auto opt = [&](const char* name, double max) -> int64_t {
      Napi::Value v = o.Get(name);
      if (v.IsUndefined() || v.IsNull()) return -1;
      if (!v.IsNumber()) badArgument(info.Env(), std::string("filter.") + name + " must be a number");
      double d = v.As<Napi::Number>().DoubleValue();
      if (!(d >= 0 && d <= max)) badArgument(info.Env(), std::string("filter.") + name + " is out of range");
      return int64_t(d);
    };
    f.zone = opt("zone", 0xffffff);
    f.ip = opt("ip", 4294967295.0);
    f.port = opt("port", 65535);
    f.proto = opt("proto", 255);
    Napi::Value st = o.Get("state");
    if (st.IsString()) {
      std::string name = st.As<Napi::String>().Utf8Value();
      for (uint32_t i = 0; i < uint32_t(ConnState::kCount); ++i)
        if (name == kConnStateNames[i]) f.state = i;
      if (f.state < 0) badArgument(info.Env(), "filter.state " + name + " is no connection state");
    }
    int64_t limit = opt("limit", 1e7);
    if (limit >= 0) f.limit = uint32_t(limit);
    return f;
  }

  bool matches(const ConnEntry& e) const {
    const FlowKey o = e.keyOf(0), r = e.keyOf(1);
    if (zone >= 0 && o.zone() != zone && r.zone() != zone) return false;
    if (ip >= 0 && o.src() != ip && o.dst() != ip && r.src() != ip && r.dst() != ip) return false;
    if (port >= 0 && o.sport() != port && o.dport() != port && r.sport() != port && r.dport() != port) return false;
    if (proto >= 0 && o.proto() != proto) return false;
    if (state >= 0 && e.state.load(std::memory_order_relaxed) != state) return false;
    return true;
  }
};

Napi::Object keyObject(Napi::Env env, const FlowKey& k) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("zone", double(k.zone()));
  o.Set("src", double(k.src()));
  o.Set("dst", double(k.dst()));
  o.Set("sport", double(k.sport()));
  o.Set("dport", double(k.dport()));
  return o;
}

}  // namespace

Napi::Value GatewayWrap::flows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  const FlowFilter f = FlowFilter::from(info);
  const uint32_t now_ms = ConnTable::clockMs(monoNs());
  Napi::Array list = Napi::Array::New(env);
  uint32_t matched = 0;
  gw.conntrack().forEach(now_ms, [&](const ConnEntry& e) {
    if (!f.matches(e)) return;
    ++matched;
    if (list.Length() >= f.limit) return;
    Napi::Object o = Napi::Object::New(env);
    const FlowKey k = e.keyOf(0);
    o.Set("proto", double(k.proto()));
    const uint8_t flags = e.flags.load(std::memory_order_relaxed);
    o.Set("kind", (flags & ConnTable::kMapping)    ? "mapping"
                  : (flags & ConnTable::kAffinity) ? "affinity"
                                                   : "connection");
    o.Set("original", keyObject(env, k));
    o.Set("reply", keyObject(env, e.keyOf(1)));
    const uint8_t st = e.state.load(std::memory_order_relaxed);
    o.Set("state", st < uint8_t(ConnState::kCount) ? kConnStateNames[st] : "unknown");
    o.Set("expiresInMs", double(int32_t(e.expires_ms.load(std::memory_order_relaxed) - now_ms)));
    list.Set(list.Length(), o);
  });
  Napi::Object out = Napi::Object::New(env);
  out.Set("flows", list);
  out.Set("matched", double(matched));
  return out;
}

Napi::Value GatewayWrap::natUsage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  // Public ports in use: the live mappings, by public address and protocol.
  std::map<uint64_t, std::pair<uint32_t, uint64_t>> use;  // ports in use, allocation failures
  gw.conntrack().forEach(ConnTable::clockMs(monoNs()), [&](const ConnEntry& e) {
    if (!(e.flags.load(std::memory_order_relaxed) & ConnTable::kMapping)) return;
    const FlowKey out = e.keyOf(1);
    ++use[(uint64_t(out.src()) << 8) | out.proto()].first;
  });
  for (size_t i = 0; i < gw.workerCount(); ++i)
    for (const KeyedCounter& kc : gw.worker(i).stats().nat_exhausted)
      if (const uint64_t key = kc.key.load(std::memory_order_relaxed)) use[key].second += kc.n.get();
  Napi::Array list = Napi::Array::New(env);
  for (const auto& [key, n] : use) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("ip", double(uint32_t(key >> 8)));
    o.Set("proto", double(key & 0xff));
    o.Set("ports", double(n.first));
    o.Set("failures", double(n.second));
    list.Set(list.Length(), o);
  }
  return list;
}

Napi::Value GatewayWrap::lbStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  if (info.Length() < 1 || !info[0].IsNumber()) badArgument(env, "lbStats(slots): slots must be a number");
  const uint32_t n = std::min<uint32_t>(info[0].As<Napi::Number>().Uint32Value(), kLbBackendSlots);
  // Per backend slot, summed over the workers.
  Napi::Float64Array conns = Napi::Float64Array::New(env, n), packets = Napi::Float64Array::New(env, n),
                     bytes = Napi::Float64Array::New(env, n), active = Napi::Float64Array::New(env, n);
  for (uint32_t s = 0; s < n; ++s) {
    double c = 0, p = 0, b = 0;
    for (size_t i = 0; i < gw.workerCount(); ++i) {
      const BackendCounters& bc = gw.worker(i).stats().backends[s];
      c += double(bc.connections.get());
      p += double(bc.packets.get());
      b += double(bc.bytes.get());
    }
    conns[s] = c;
    packets[s] = p;
    bytes[s] = b;
    active[s] = double(std::max(0, gw.conntrack().backendActive(s)));
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("connections", conns);
  o.Set("packets", packets);
  o.Set("bytes", bytes);
  o.Set("active", active);
  return o;
}

Napi::Value GatewayWrap::flushFlows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  const FlowFilter f = FlowFilter::from(info);
  return Napi::Number::New(
      env, gw.conntrack().kill(ConnTable::clockMs(monoNs()), [&](const ConnEntry& e) { return f.matches(e); }));
}

Napi::Value GatewayWrap::routeLookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  uint32_t ip = u32(info, 0, "address");
  const Snapshot* snap = gw.current();
  if (!snap) throw toJs(env, err::kState, "no configuration applied yet");
  uint32_t idx = snap->routes.lookupIndex(ip);
  const NextHop& nh = snap->routes.nexthops()[idx];
  Napi::Object o = Napi::Object::New(env);
  o.Set("nexthop", idx);
  o.Set("kind", kNhKindNames[size_t(nh.kind)]);
  o.Set("port", nh.port);
  o.Set("gateway", double(nh.gateway));
  return o;
}

// vpcRouteLookup(table, address): the index of the target the VPC route
// table gives the address (0: no route), in the running snapshot.
Napi::Value GatewayWrap::vpcRouteLookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  uint32_t table = u32(info, 0, "table");
  uint32_t ip = u32(info, 1, "address");
  const Snapshot* snap = gw.current();
  if (!snap) throw toJs(env, err::kState, "no configuration applied yet");
  if (table >= snap->overlay.route_tables.size())
    throw toJs(env, err::kArgument, "no VPC route table " + std::to_string(table));
  return Napi::Number::New(env, snap->overlay.route_tables[table].lookup(ip));
}

Napi::Value GatewayWrap::neighbors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  const NeighborTable& nt = gw.neighbors();
  const uint64_t now = monoNs();
  Napi::Array out = Napi::Array::New(env);
  for (uint32_t i = 0; i < nt.capacity(); ++i) {
    const auto& e = nt.at(i);
    uint64_t key = e.key.load(std::memory_order_acquire);
    if (!key) continue;
    uint64_t mac = e.mac.load(std::memory_order_acquire);
    Napi::Object o = Napi::Object::New(env);
    o.Set("port", double((key >> 32) & 0xffff));
    o.Set("ip", double(uint32_t(key)));
    if (mac & NeighborTable::kResolved) {
      uint8_t m[6];
      NeighborTable::unpackMac(mac, m);
      o.Set("mac", macString(m));
      uint64_t c = e.confirmed_ns.load(std::memory_order_relaxed);
      o.Set("confirmedAgoMs", now > c ? double(now - c) / 1e6 : 0.0);
    } else {
      o.Set("mac", env.Null());
      o.Set("confirmedAgoMs", env.Null());
    }
    out.Set(out.Length(), o);
  }
  return out;
}

Napi::Value GatewayWrap::memInject(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  MemQueue* q = memQueueArg(info, gw);
  auto frames = toFrames(info[2], "frames");
  uint32_t n = 0;
  for (auto& f : frames) {
    if (!q->inject(f.data(), uint32_t(f.size()))) break;
    ++n;
  }
  return Napi::Number::New(env, n);
}

Napi::Value GatewayWrap::memDrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  uint32_t max = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 1u << 20;
  MemQueue* q = memQueueArg(info, gw);
  Napi::Array out = Napi::Array::New(env);
  q->drain(max,
           [&](const uint8_t* d, uint32_t len) { out.Set(out.Length(), Napi::Buffer<uint8_t>::Copy(env, d, len)); });
  return out;
}

Napi::Value GatewayWrap::memPending(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  MemQueue* q = memQueueArg(info, gw);
  return Napi::Boolean::New(env, !q->rxEmpty());
}

Napi::Value GatewayWrap::memReplay(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  if (gw.started()) throw toJs(env, err::kState, "replay must be set up before start()");
  MemQueue* q = memQueueArg(info, gw);
  auto frames = toFrames(info[2], "frames");
  if (info.Length() < 4 || !info[3].IsNumber()) badArgument(env, "count must be a number");
  double count = info[3].As<Napi::Number>().DoubleValue();
  double warmup = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : 0;
  guard(env, [&] {
    q->setReplay(std::move(frames), uint64_t(count), uint64_t(warmup));
    return 0;
  });
  return env.Undefined();
}

Napi::Value GatewayWrap::memSink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  if (gw.started()) throw toJs(env, err::kState, "a sink must be set up before start()");
  MemQueue* q = memQueueArg(info, gw);
  q->setSink();
  return env.Undefined();
}

Napi::Value GatewayWrap::replayResult(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  MemQueue* q = memQueueArg(info, gw);
  MemQueue::ReplayResult r = q->replayResult();
  Napi::Object o = Napi::Object::New(env);
  o.Set("received", double(r.received));
  o.Set("timed", double(r.timed));
  o.Set("startNs", double(r.start_ns));
  o.Set("doneNs", double(r.done_ns));
  o.Set("cycles", double(r.cycles));
  o.Set("instructions", double(r.instructions));
  return o;
}

}  // namespace nfvgw::napi
