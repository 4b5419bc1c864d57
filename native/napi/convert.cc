// JS object -> data-plane structs; see convert.h.
#include "napi/convert.h"

#include <cstdio>
#include <iterator>

#include "napi/errors.h"

namespace nfvgw::napi {

namespace {

Napi::Value field(const Napi::Object& o, const char* name, const std::string& where) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined() || v.IsNull()) badArgument(o.Env(), where + "." + name + " is missing");
  return v;
}

double number(const Napi::Object& o, const char* name, const std::string& where, double min, double max) {
  Napi::Value v = field(o, name, where);
  if (!v.IsNumber()) badArgument(o.Env(), where + "." + name + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != double(int64_t(d)))
    badArgument(o.Env(), where + "." + name + " must be an integer in " + std::to_string(int64_t(min)) + ".." +
                             std::to_string(int64_t(max)));
  return d;
}

double numberOr(const Napi::Object& o, const char* name, const std::string& where, double min, double max,
                double dflt) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined() || v.IsNull()) return dflt;
  return number(o, name, where, min, max);
}

std::string string(const Napi::Object& o, const char* name, const std::string& where, bool required = true) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) badArgument(o.Env(), where + "." + name + " is missing");
    return {};
  }
  if (!v.IsString()) badArgument(o.Env(), where + "." + name + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

Napi::Array array(const Napi::Object& o, const char* name, const std::string& where) {
  Napi::Value v = field(o, name, where);
  if (!v.IsArray()) badArgument(o.Env(), where + "." + name + " must be an array");
  return v.As<Napi::Array>();
}

Napi::Object element(const Napi::Array& a, uint32_t i, const std::string& where) {
  Napi::Value v = a.Get(i);
  if (!v.IsObject()) badArgument(a.Env(), where + "[" + std::to_string(i) + "] must be an object");
  return v.As<Napi::Object>();
}

void parseMac(Napi::Env env, const std::string& s, uint8_t* out, const std::string& where) {
  unsigned b[6];
  char extra;
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &extra) != 6)
    badArgument(env, where + " is not a MAC address (aa:bb:cc:dd:ee:ff)");
  for (int i = 0; i < 6; ++i) {
    if (b[i] > 255) badArgument(env, where + " is not a MAC address");
    out[i] = uint8_t(b[i]);
  }
}

template <class E>
E choice(const Napi::Object& o, const char* name, const std::string& where,
         std::initializer_list<std::pair<const char*, E>> options, E dflt) {
  std::string v = string(o, name, where, false);
  if (v.empty()) return dflt;
  std::string names;
  for (const auto& [n, e] : options) {
    if (v == n) return e;
    names += names.empty() ? n : std::string(", ") + n;
  }
  badArgument(o.Env(), where + "." + name + " must be one of " + names);
}

// The same over a list of names, the enum's values in order.
template <class E, size_t N>
E choice(const Napi::Object& o, const char* name, const std::string& where, const char* const (&names)[N], E dflt) {
  std::string v = string(o, name, where, false);
  if (v.empty()) return dflt;
  std::string known;
  for (size_t k = 0; k < N; ++k) {
    if (v == names[k]) return E(k);
    if (k) known += ", ";
    known += names[k];
  }
  badArgument(o.Env(), where + "." + name + " must be one of " + known);
}

struct RouteArrays {
  Napi::Uint32Array table, prefix, target;
  Napi::Uint8Array length;
};

RouteArrays routeArrays(const Napi::Object& o, const char* name, const std::string& where) {
  Napi::Object r = field(o, name, where).As<Napi::Object>();
  const std::string w = where + "." + name;
  Napi::Value t = r.Get("table"), p = r.Get("prefix"), l = r.Get("length"), g = r.Get("target");
  if (!t.IsTypedArray() || !p.IsTypedArray() || !l.IsTypedArray() || !g.IsTypedArray() ||
      t.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
      p.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
      l.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      g.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
    badArgument(o.Env(), w + " must hold Uint32Array table, prefix, target and Uint8Array length");
  RouteArrays a{t.As<Napi::Uint32Array>(), p.As<Napi::Uint32Array>(), g.As<Napi::Uint32Array>(),
                l.As<Napi::Uint8Array>()};
  size_t n = a.table.ElementLength();
  if (a.prefix.ElementLength() != n || a.length.ElementLength() != n || a.target.ElementLength() != n)
    badArgument(o.Env(), w + " arrays must be of one length");
  return a;
}

std::vector<OverlaySpec::Route> routes(const RouteArrays& a) {
  std::vector<OverlaySpec::Route> out(a.table.ElementLength());
  for (size_t i = 0; i < out.size(); ++i) out[i] = {a.table[i], a.prefix[i], a.length[i], a.target[i]};
  return out;
}

std::vector<AclRule> aclRules(const Napi::Array& rules, const std::string& where) {
  std::vector<AclRule> out;
  for (uint32_t i = 0; i < rules.Length(); ++i) {
    std::string rw = where + "[" + std::to_string(i) + "]";
    Napi::Object r = element(rules, i, where);
    Napi::Value allow = r.Get("allow");
    if (!allow.IsBoolean()) badArgument(r.Env(), rw + ".allow must be a boolean");
    uint8_t len = uint8_t(number(r, "length", rw, 0, 32));
    out.push_back({allow.As<Napi::Boolean>().Value(), int16_t(number(r, "proto", rw, -1, 255)),
                   uint16_t(number(r, "portLo", rw, 0, 65535)), uint16_t(number(r, "portHi", rw, 0, 65535)),
                   uint32_t(number(r, "prefix", rw, 0, 4294967295.0)), len == 0 ? 0 : ~uint32_t(0) << (32 - len)});
    out.back().prefix &= out.back().mask;
  }
  return out;
}

std::vector<SgRule> sgRules(const Napi::Array& rules, const std::string& where) {
  std::vector<SgRule> out;
  for (uint32_t i = 0; i < rules.Length(); ++i) {
    std::string rw = where + "[" + std::to_string(i) + "]";
    Napi::Object r = element(rules, i, where);
    out.push_back({int16_t(number(r, "proto", rw, -1, 255)), uint16_t(number(r, "portLo", rw, 0, 65535)),
                   uint16_t(number(r, "portHi", rw, 0, 65535)), uint32_t(number(r, "prefix", rw, 0, 4294967295.0)),
                   uint8_t(number(r, "length", rw, 0, 32))});
  }
  return out;
}

LbSpec toLbSpec(const Napi::Object& o, const std::string& w) {
  LbSpec s;
  Napi::Array services = array(o, "services", w);
  for (uint32_t i = 0; i < services.Length(); ++i) {
    const std::string sw = w + ".services[" + std::to_string(i) + "]";
    Napi::Object x = element(services, i, w + ".services");
    LbSpec::Service v;
    v.vni = uint32_t(numberOr(x, "vni", sw, 0, 16777215, 0));
    v.vip = uint32_t(number(x, "vip", sw, 1, 4294967295.0));
    v.port = uint16_t(number(x, "port", sw, 0, 65535));
    v.proto = uint8_t(number(x, "proto", sw, 0, 255));
    v.mode = choice<LbMode>(
        x, "mode", sw,
        {{"dr", LbMode::kDr}, {"nat", LbMode::kNat}, {"fullnat", LbMode::kFullNat}, {"tunnel", LbMode::kTunnel}},
        LbMode::kNat);
    v.scheduler = choice<LbScheduler>(x, "scheduler", sw,
                                      {{"maglev", LbScheduler::kMaglev},
                                       {"rr", LbScheduler::kRoundRobin},
                                       {"wrr", LbScheduler::kWeightedRoundRobin},
                                       {"lc", LbScheduler::kLeastConn},
                                       {"sh", LbScheduler::kSourceHash}},
                                      LbScheduler::kMaglev);
    v.table_size = uint32_t(number(x, "tableSize", sw, 2, 16777259));
    Napi::Value all = x.Get("useAllWhenDown");
    v.use_all_when_down = all.IsBoolean() && all.As<Napi::Boolean>().Value();
    v.affinity_ms = uint32_t(numberOr(x, "affinityMs", sw, 0, 86'400'000, 0));
    Napi::Array locals = array(x, "localIps", sw);
    for (uint32_t j = 0; j < locals.Length(); ++j) {
      Napi::Value l = locals.Get(j);
      if (!l.IsNumber()) badArgument(o.Env(), sw + ".localIps[" + std::to_string(j) + "] must be a number");
      v.local_ips.push_back(l.As<Napi::Number>().Uint32Value());
    }
    Napi::Array backends = array(x, "backends", sw);
    for (uint32_t j = 0; j < backends.Length(); ++j) {
      const std::string bw = sw + ".backends[" + std::to_string(j) + "]";
      Napi::Object b = element(backends, j, sw + ".backends");
      Napi::Value up = b.Get("up");
      v.backends.push_back({uint32_t(number(b, "ip", bw, 1, 4294967295.0)), uint16_t(number(b, "port", bw, 0, 65535)),
                            uint16_t(number(b, "weight", bw, 0, 65535)),
                            !up.IsBoolean() || up.As<Napi::Boolean>().Value(),
                            uint32_t(number(b, "slot", bw, 0, kLbBackendSlots - 1))});
    }
    s.services.push_back(std::move(v));
  }
  return s;
}

OverlayTarget overlayTarget(const Napi::Object& x, const std::string& tw) {
  OverlayTarget t;
  t.kind = choice(x, "kind", tw, kOverlayKindNames, OverlayKind::kNone);
  t.vpc = uint32_t(numberOr(x, "vpc", tw, 0, 4294967295.0, 0));
  t.tgw = uint32_t(numberOr(x, "tgw", tw, 0, 4294967295.0, 0));
  t.eni = uint32_t(numberOr(x, "eni", tw, 0, 4294967295.0, 0));
  t.nat = uint32_t(numberOr(x, "nat", tw, 0, 4294967295.0, 0));
  return t;
}

OverlaySpec toOverlaySpec(const Napi::Object& o, const std::string& w) {
  Napi::Env env = o.Env();
  OverlaySpec s;
  s.port = uint16_t(number(o, "port", w, 0, 65535));
  s.vtep_ip = uint32_t(number(o, "vtepIp", w, 0, 4294967295.0));
  s.udp_port = uint16_t(number(o, "udpPort", w, 1, 65535));
  parseMac(env, string(o, "routerMac", w), s.router_mac, w + ".routerMac");
  Napi::Array vnis = array(o, "vnis", w);
  for (uint32_t i = 0; i < vnis.Length(); ++i) {
    Napi::Value v = vnis.Get(i);
    if (!v.IsNumber()) badArgument(env, w + ".vnis[" + std::to_string(i) + "] must be a number");
    s.vnis.push_back(v.As<Napi::Number>().Uint32Value());
  }
  Napi::Array subnets = array(o, "subnets", w);
  for (uint32_t i = 0; i < subnets.Length(); ++i) {
    std::string sw = w + ".subnets[" + std::to_string(i) + "]";
    Napi::Object x = element(subnets, i, w + ".subnets");
    s.subnets.push_back(
        {uint32_t(number(x, "vpc", sw, 0, 4294967295.0)), uint32_t(number(x, "prefix", sw, 0, 4294967295.0)),
         uint32_t(number(x, "length", sw, 0, 32)), uint32_t(number(x, "gateway", sw, 0, 4294967295.0)),
         uint32_t(number(x, "routeTable", sw, 0, 4294967295.0)), int32_t(number(x, "acl", sw, -1, 2147483647))});
  }
  Napi::Array enis = array(o, "enis", w);
  for (uint32_t i = 0; i < enis.Length(); ++i) {
    std::string ew = w + ".enis[" + std::to_string(i) + "]";
    Napi::Object x = element(enis, i, w + ".enis");
    OverlaySpec::EniSpec e;
    e.vpc = uint32_t(number(x, "vpc", ew, 0, 4294967295.0));
    e.subnet = uint32_t(number(x, "subnet", ew, 0, 4294967295.0));
    parseMac(env, string(x, "mac", ew), e.mac, ew + ".mac");
    e.vtep = uint32_t(number(x, "vtep", ew, 0, 4294967295.0));
    e.sg_set = uint32_t(number(x, "sgSet", ew, 0, 4294967295.0));
    Napi::Array ips = array(x, "ips", ew);
    for (uint32_t j = 0; j < ips.Length(); ++j) {
      Napi::Value v = ips.Get(j);
      if (!v.IsNumber()) badArgument(env, ew + ".ips[" + std::to_string(j) + "] must be a number");
      e.ips.push_back(uint32_t(v.As<Napi::Number>().DoubleValue()));
    }
    s.enis.push_back(std::move(e));
  }
  Napi::Array targets = array(o, "targets", w);
  for (uint32_t i = 0; i < targets.Length(); ++i) {
    std::string tw = w + ".targets[" + std::to_string(i) + "]";
    Napi::Object x = element(targets, i, w + ".targets");
    s.targets.push_back(overlayTarget(x, tw));
  }
  s.route_tables = uint32_t(number(o, "routeTables", w, 0, 16777216));
  s.routes = routes(routeArrays(o, "routes", w));
  s.transit_gateways = uint32_t(number(o, "transitGateways", w, 0, 16777216));
  s.transit_routes = routes(routeArrays(o, "transitRoutes", w));
  Napi::Array acls = array(o, "acls", w);
  for (uint32_t i = 0; i < acls.Length(); ++i) {
    std::string aw = w + ".acls[" + std::to_string(i) + "]";
    Napi::Object x = element(acls, i, w + ".acls");
    s.acls.push_back(
        {aclRules(array(x, "inbound", aw), aw + ".inbound"), aclRules(array(x, "outbound", aw), aw + ".outbound")});
  }
  Napi::Array sets = array(o, "sgSets", w);
  for (uint32_t i = 0; i < sets.Length(); ++i) {
    std::string gw = w + ".sgSets[" + std::to_string(i) + "]";
    Napi::Object x = element(sets, i, w + ".sgSets");
    s.sg_sets.push_back(
        {sgRules(array(x, "inbound", gw), gw + ".inbound"), sgRules(array(x, "outbound", gw), gw + ".outbound")});
  }
  s.uplink = int32_t(numberOr(o, "uplink", w, -1, 65535, -1));
  Napi::Array nats = array(o, "natGateways", w);
  for (uint32_t i = 0; i < nats.Length(); ++i) {
    std::string nw = w + ".natGateways[" + std::to_string(i) + "]";
    Napi::Object x = element(nats, i, w + ".natGateways");
    NatGateway g;
    g.vpc = uint32_t(number(x, "vpc", nw, 0, 4294967295.0));
    Napi::Array ips = array(x, "ips", nw);
    for (uint32_t j = 0; j < ips.Length(); ++j) {
      Napi::Value v = ips.Get(j);
      if (!v.IsNumber()) badArgument(env, nw + ".ips[" + std::to_string(j) + "] must be a number");
      g.ips.push_back(uint32_t(v.As<Napi::Number>().DoubleValue()));
    }
    g.port_lo = uint16_t(number(x, "portLo", nw, 1, 65535));
    g.port_hi = uint16_t(number(x, "portHi", nw, 1, 65535));
    s.nat_gateways.push_back(std::move(g));
  }
  Napi::Array forwards = array(o, "portForwards", w);
  for (uint32_t i = 0; i < forwards.Length(); ++i) {
    std::string fw = w + ".portForwards[" + std::to_string(i) + "]";
    Napi::Object x = element(forwards, i, w + ".portForwards");
    s.port_forwards.push_back(
        {uint32_t(number(x, "publicIp", fw, 1, 4294967295.0)), uint8_t(number(x, "proto", fw, 0, 255)),
         uint16_t(number(x, "publicPort", fw, 1, 65535)), uint32_t(number(x, "eni", fw, 0, 4294967295.0)),
         uint32_t(number(x, "privateIp", fw, 1, 4294967295.0)), uint16_t(number(x, "privatePort", fw, 1, 65535))});
  }
  Napi::Array eips = array(o, "eips", w);
  for (uint32_t i = 0; i < eips.Length(); ++i) {
    std::string ew = w + ".eips[" + std::to_string(i) + "]";
    Napi::Object x = element(eips, i, w + ".eips");
    s.eips.push_back({uint32_t(number(x, "publicIp", ew, 1, 4294967295.0)),
                      uint32_t(number(x, "eni", ew, 0, 4294967295.0)),
                      uint32_t(number(x, "privateIp", ew, 1, 4294967295.0))});
  }
  return s;
}

}  // namespace

std::string macString(const uint8_t* m) {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

GatewaySpec toGatewaySpec(const Napi::Object& o) {
  GatewaySpec s;
  const std::string w = "spec";
  Napi::Array ports = array(o, "ports", w);
  for (uint32_t i = 0; i < ports.Length(); ++i) {
    std::string pw = w + ".ports[" + std::to_string(i) + "]";
    Napi::Object p = element(ports, i, w + ".ports");
    PortSpec ps;
    ps.name = string(p, "name", pw);
    ps.kind = choice<PortKind>(
        p, "kind", pw, {{"af_xdp", PortKind::kAfXdp}, {"af_packet", PortKind::kAfPacket}, {"mem", PortKind::kMem}},
        PortKind::kMem);
    ps.ifname = string(p, "interface", pw, ps.kind != PortKind::kMem);
    ps.netns = string(p, "netns", pw, false);
    ps.xdp_mode = choice<XdpMode>(
        p, "xdpMode", pw, {{"auto", XdpMode::kAuto}, {"native", XdpMode::kNative}, {"generic", XdpMode::kGeneric}},
        XdpMode::kAuto);
    ps.zero_copy =
        choice<ZeroCopy>(p, "zeroCopy", pw, {{"auto", ZeroCopy::kAuto}, {"on", ZeroCopy::kOn}, {"off", ZeroCopy::kOff}},
                         ZeroCopy::kAuto);
    ps.ring_size = uint32_t(numberOr(p, "ringSize", pw, 64, 16384, 2048));
    std::string mac = string(p, "mac", pw, false);
    if (!mac.empty()) parseMac(o.Env(), mac, ps.mac, pw + ".mac");
    ps.mtu = uint32_t(numberOr(p, "mtu", pw, 68, 9000, 1500));
    ps.mem_slots = uint32_t(numberOr(p, "memSlots", pw, 64, 65536, 1024));
    s.ports.push_back(ps);
  }
  Napi::Array workers = array(o, "workers", w);
  for (uint32_t i = 0; i < workers.Length(); ++i) {
    std::string ww = w + ".workers[" + std::to_string(i) + "]";
    Napi::Object wo = element(workers, i, w + ".workers");
    WorkerSpec ws;
    ws.core = int(numberOr(wo, "core", ww, -1, 4095, -1));
    ws.mode = choice<PollMode>(wo, "pollMode", ww, {{"busy", PollMode::kBusy}, {"adaptive", PollMode::kAdaptive}},
                               PollMode::kAdaptive);
    s.workers.push_back(ws);
  }
  s.burst = uint32_t(numberOr(o, "burst", w, 1, kMaxBurst, 32));
  s.hugepages = choice<HugePagePolicy>(
      o, "hugepages", w,
      {{"auto", HugePagePolicy::kAuto}, {"require", HugePagePolicy::kRequire}, {"off", HugePagePolicy::kOff}},
      HugePagePolicy::kAuto);
  s.bpf_dir = string(o, "bpfDir", w);
  s.neighbor_capacity = uint32_t(numberOr(o, "neighborCapacity", w, 64, 1 << 24, 65536));
  s.pipeline = choice<PipelineKind>(
      o, "pipeline", w, {{"l3", PipelineKind::kL3}, {"floor", PipelineKind::kFloor}, {"patch", PipelineKind::kPatch}},
      PipelineKind::kL3);
  s.idle_spin_us = uint32_t(numberOr(o, "idleSpinUs", w, 0, 1000000, 200));
  s.tx_drain_us = uint32_t(numberOr(o, "txDrainUs", w, 0, 10000, 50));
  s.conntrack_capacity = uint32_t(numberOr(o, "conntrackCapacity", w, 64, 1 << 30, 262144));
  return s;
}

SnapshotSpec toSnapshotSpec(const Napi::Object& o) {
  SnapshotSpec s;
  const std::string w = "snapshot";
  Napi::Env env = o.Env();
  s.generation = uint64_t(number(o, "generation", w, 0, 9007199254740991.0));
  Napi::Array ports = array(o, "ports", w);
  for (uint32_t i = 0; i < ports.Length(); ++i) {
    std::string pw = w + ".ports[" + std::to_string(i) + "]";
    Napi::Object p = element(ports, i, w + ".ports");
    SnapshotSpec::Port sp;
    sp.mtu = uint32_t(numberOr(p, "mtu", pw, 0, 9000, 0));
    sp.vlan = uint16_t(numberOr(p, "vlan", pw, 0, 4094, 0));
    Napi::Array addrs = array(p, "addresses", pw);
    for (uint32_t j = 0; j < addrs.Length(); ++j) {
      std::string aw = pw + ".addresses[" + std::to_string(j) + "]";
      Napi::Object a = element(addrs, j, pw + ".addresses");
      sp.addrs.push_back({uint32_t(number(a, "ip", aw, 0, 4294967295.0)), uint8_t(number(a, "prefixLen", aw, 0, 32))});
    }
    s.ports.push_back(std::move(sp));
  }
  Napi::Array nhs = array(o, "nexthops", w);
  for (uint32_t i = 0; i < nhs.Length(); ++i) {
    std::string nw = w + ".nexthops[" + std::to_string(i) + "]";
    Napi::Object n = element(nhs, i, w + ".nexthops");
    NextHop nh;
    nh.kind = choice(n, "kind", nw, kNhKindNames, NhKind::kNoRoute);
    nh.port = uint16_t(numberOr(n, "port", nw, 0, 65535, 0));
    nh.gateway = uint32_t(numberOr(n, "gateway", nw, 0, 4294967295.0, 0));
    nh.bcast = uint32_t(numberOr(n, "broadcast", nw, 0, 4294967295.0, 0));
    s.nexthops.push_back(nh);
  }
  // Routes come as typed arrays: 100k of them should not be 100k objects.
  Napi::Object routes = field(o, "routes", w).As<Napi::Object>();
  Napi::Value pv = routes.Get("prefix"), lv = routes.Get("length"), nv = routes.Get("nexthop");
  if (!pv.IsTypedArray() || !lv.IsTypedArray() || !nv.IsTypedArray())
    badArgument(env, w + ".routes must hold Uint32Array prefix, Uint8Array length, Uint32Array nexthop");
  auto pa = pv.As<Napi::TypedArray>(), la = lv.As<Napi::TypedArray>(), na = nv.As<Napi::TypedArray>();
  if (pa.TypedArrayType() != napi_uint32_array || la.TypedArrayType() != napi_uint8_array ||
      na.TypedArrayType() != napi_uint32_array || pa.ElementLength() != la.ElementLength() ||
      pa.ElementLength() != na.ElementLength())
    badArgument(env, w + ".routes arrays must be Uint32Array/Uint8Array/Uint32Array of one length");
  auto prefixes = pv.As<Napi::Uint32Array>();
  auto lengths = lv.As<Napi::Uint8Array>();
  auto hops = nv.As<Napi::Uint32Array>();
  s.routes.resize(prefixes.ElementLength());
  for (size_t i = 0; i < s.routes.size(); ++i) s.routes[i] = {prefixes[i], lengths[i], hops[i]};

  Napi::Array neigh = array(o, "neighbors", w);
  for (uint32_t i = 0; i < neigh.Length(); ++i) {
    std::string nw = w + ".neighbors[" + std::to_string(i) + "]";
    Napi::Object n = element(neigh, i, w + ".neighbors");
    SnapshotSpec::Neighbor sn;
    sn.port = uint16_t(number(n, "port", nw, 0, 65535));
    sn.ip = uint32_t(number(n, "ip", nw, 0, 4294967295.0));
    parseMac(env, string(n, "mac", nw), sn.mac, nw + ".mac");
    s.neighbors.push_back(sn);
  }
  Napi::Value nsv = o.Get("neighborTimers");
  if (nsv.IsObject()) {
    Napi::Object ns = nsv.As<Napi::Object>();
    std::string nw = w + ".neighborTimers";
    s.neighbor.reachable_ns = uint64_t(number(ns, "reachableMs", nw, 1, 86400000)) * 1000000;
    s.neighbor.expire_ns = uint64_t(number(ns, "expireMs", nw, 1, 86400000)) * 1000000;
    s.neighbor.retry_ns = uint64_t(number(ns, "retryMs", nw, 1, 86400000)) * 1000000;
  }
  Napi::Value ov = o.Get("overlay");
  if (ov.IsObject()) s.overlay = toOverlaySpec(ov.As<Napi::Object>(), w + ".overlay");
  Napi::Value lbv = o.Get("lb");
  if (lbv.IsObject()) s.lb = toLbSpec(lbv.As<Napi::Object>(), w + ".lb");
  Napi::Value cv = o.Get("conntrack");
  if (cv.IsObject()) {
    Napi::Object ct = cv.As<Napi::Object>();
    const std::string cw = w + ".conntrack";
    static const char* const kStateFields[] = {"tcpSynSent", "tcpSynRecv",   "tcpEstablished",
                                               "tcpFinWait", "tcpCloseWait", "tcpTimeWait",
                                               "tcpClose",   "udpUnreplied", "udpReplied"};
    static_assert(std::size(kStateFields) == size_t(ConnState::kCount));
    for (size_t i = 0; i < std::size(kStateFields); ++i)
      s.conntrack.timeout_ms[i] = uint32_t(number(ct, kStateFields[i], cw, 1000, 1e9));
    s.conntrack.icmp_ms = uint32_t(number(ct, "icmp", cw, 1000, 1e9));
  }
  Napi::Value iv = o.Get("icmp");
  if (iv.IsObject()) {
    Napi::Object ic = iv.As<Napi::Object>();
    s.icmp.errors_per_sec = uint32_t(number(ic, "errorsPerSecond", w + ".icmp", 0, 1000000));
    s.icmp.burst = uint32_t(number(ic, "burst", w + ".icmp", 0, 1000000));
  }
  return s;
}

std::vector<std::vector<uint8_t>> toFrames(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) badArgument(v.Env(), std::string(what) + " must be an array of Buffers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::vector<uint8_t>> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    if (!e.IsBuffer()) badArgument(v.Env(), std::string(what) + "[" + std::to_string(i) + "] must be a Buffer");
    auto b = e.As<Napi::Buffer<uint8_t>>();
    out.emplace_back(b.Data(), b.Data() + b.Length());
  }
  return out;
}

RouteChangeSpec toRouteChanges(const Napi::Object& o) {
  const std::string w = "changes";
  RouteChangeSpec out;
  RouteArrays a = routeArrays(o, "routes", w);
  for (size_t i = 0; i < a.table.ElementLength(); ++i) {
    const bool remove = a.target[i] == kRemoveRoute;
    out.changes.push_back({a.table[i], a.prefix[i], a.length[i], remove, remove ? 0 : a.target[i]});
  }
  Napi::Array targets = array(o, "targets", w);
  for (uint32_t i = 0; i < targets.Length(); ++i)
    out.added.push_back(overlayTarget(element(targets, i, w + ".targets"), w + ".targets[" + std::to_string(i) + "]"));
  return out;
}

}  // namespace nfvgw::napi
