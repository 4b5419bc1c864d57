// Packet traces and captures through the Gateway class; see tap_wrap.h and
// core/tap.h. Everything here runs on the JS thread: it arms the taps and
// copies out what the workers left in their areas.
#include "napi/tap_wrap.h"

#include <ctime>

#include "core/clock.h"
#include "napi/convert.h"
#include "napi/errors.h"
#include "napi/gateway_wrap.h"
#include "nf/conntrack/conntrack.h"

namespace nfvgw::napi {

namespace {

double num(const Napi::Object& o, const char* key, double dflt) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return dflt;
  if (!v.IsNumber()) badArgument(o.Env(), std::string("filter.") + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// The filter as the control plane compiled it: every field a number, -1
// (or absent) when not set; addresses and masks as unsigned 32-bit numbers.
TapFilter toFilter(const Napi::Value& v) {
  if (!v.IsObject()) badArgument(v.Env(), "the filter must be an object");
  Napi::Object o = v.As<Napi::Object>();
  TapFilter f;
  f.port = int32_t(num(o, "port", -1));
  f.src_mask = uint32_t(num(o, "srcMask", 0));
  f.src = uint32_t(num(o, "src", 0)) & f.src_mask;
  f.dst_mask = uint32_t(num(o, "dstMask", 0));
  f.dst = uint32_t(num(o, "dst", 0)) & f.dst_mask;
  f.proto = int32_t(num(o, "proto", -1));
  f.sport = int32_t(num(o, "sport", -1));
  f.dport = int32_t(num(o, "dport", -1));
  f.vni = int64_t(num(o, "vni", -1));
  f.vxlan_port = uint16_t(num(o, "vxlanPort", 4789));
  return f;
}

// Monotonic (the workers' clock) to wall-clock microseconds.
double wallUs(uint64_t mono_ns) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  const int64_t offset = int64_t(ts.tv_sec) * 1000000000ll + ts.tv_nsec - int64_t(monoNs());
  return double(int64_t(mono_ns) + offset) / 1e3;
}

Napi::Array names(Napi::Env env, const char* const* list, uint32_t n) {
  Napi::Array a = Napi::Array::New(env, n);
  for (uint32_t i = 0; i < n; ++i) a.Set(i, list[i]);
  return a;
}

}  // namespace

Napi::Object tapNames(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("kinds", names(env, kTraceKindNames, kTraceKindCount));
  o.Set("kindHelp", names(env, kTraceKindHelp, kTraceKindCount));
  // The numbering of NhKind, OverlayKind and ConnState (route_table.h,
  // vpc_tables.h, conntrack.h), in the control plane's words.
  o.Set("nexthopKinds", names(env, kNhKindNames, uint32_t(std::size(kNhKindNames))));
  o.Set("vpcTargetKinds", names(env, kOverlayKindNames, uint32_t(std::size(kOverlayKindNames))));
  o.Set("connStates", names(env, kConnStateNames, uint32_t(ConnState::kCount)));
  o.Set("traceRecords", kTraceRecords);
  o.Set("traceSlots", kTraceSlots);
  return o;
}

// traceStart(filter, count): arms the trace for the next `count` matching packets.
Napi::Value GatewayWrap::traceStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  if (info.Length() < 2 || !info[1].IsNumber()) badArgument(env, "traceStart(filter, count)");
  const TapFilter f = toFilter(info[0]);
  const uint32_t count = info[1].As<Napi::Number>().Uint32Value();
  guard(env, [&] {
    gw.tap().startTrace(f, count);
    return 0;
  });
  return env.Undefined();
}

// traceRead(final) -> {packets, missed}: the finished packets' traces; with
// `final`, the trace is disarmed first and the unfinished ones (waiting for
// ARP, say) come too, marked incomplete.
Napi::Value GatewayWrap::traceRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  const bool final = info.Length() > 0 && info[0].ToBoolean().Value();
  Tap& tap = gw.tap();
  if (final)
    guard(env, [&] {
      tap.stopTrace();
      return 0;
    });
  Napi::Array packets = Napi::Array::New(env);
  tap.readTrace(final, [&](TapWorker& w, const TraceSlot& s, bool done) {
    int worker = 0;
    for (int i = 0; i < tap.workers(); ++i)
      if (&tap.worker(i) == &w) worker = i;
    Napi::Object o = Napi::Object::New(env);
    o.Set("worker", worker);
    o.Set("port", s.port);
    o.Set("len", s.len);
    o.Set("timeUs", wallUs(s.rx_ns));
    o.Set("monoNs", double(s.rx_ns));
    o.Set("head", Napi::Buffer<uint8_t>::Copy(env, s.head, s.head_len));
    o.Set("complete", done);
    o.Set("truncated", s.truncated != 0);
    Napi::Array recs = Napi::Array::New(env, s.n);
    for (uint32_t i = 0; i < s.n; ++i) {
      Napi::Array r = Napi::Array::New(env, 4);
      r.Set(0u, uint32_t(s.rec[i].kind));
      r.Set(1u, double(s.rec[i].a));
      r.Set(2u, double(s.rec[i].b));
      r.Set(3u, double(s.rec[i].c));
      recs.Set(i, r);
    }
    o.Set("records", recs);
    packets.Set(packets.Length(), o);
  });
  Napi::Object out = Napi::Object::New(env);
  out.Set("packets", packets);
  out.Set("missed", double(tap.traceMissed()));
  out.Set("armed", tap.tracing());
  return out;
}

// captureStart(filter, {rx, tx, snaplen, count, ringBytes}).
Napi::Value GatewayWrap::captureStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  const TapFilter f = toFilter(info[0]);
  if (info.Length() < 2 || !info[1].IsObject()) badArgument(env, "captureStart(filter, options)");
  Napi::Object o = info[1].As<Napi::Object>();
  const bool rx = o.Get("rx").ToBoolean().Value(), tx = o.Get("tx").ToBoolean().Value();
  const uint32_t snaplen = o.Get("snaplen").ToNumber().Uint32Value();
  const double count = o.Get("count").ToNumber().DoubleValue();
  const uint32_t ring = o.Get("ringBytes").ToNumber().Uint32Value();
  if (ring < 65536 || (ring & (ring - 1))) badArgument(env, "ringBytes must be a power of two of 64 KiB or more");
  if (snaplen == 0) badArgument(env, "snaplen must be > 0");
  guard(env, [&] {
    gw.tap().startCapture(f, rx, tx, snaplen, count > 0 ? uint64_t(count) : ~0ull >> 2, ring);
    return 0;
  });
  return env.Undefined();
}

// captureRead(stop) -> {frames, missed}: the frames the rings hold (all of
// them, oldest first per worker); with `stop`, disarmed first.
Napi::Value GatewayWrap::captureRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Gateway& gw = live(env);
  Tap& tap = gw.tap();
  if (info.Length() > 0 && info[0].ToBoolean().Value())
    guard(env, [&] {
      tap.stopCapture();
      return 0;
    });
  Napi::Array frames = Napi::Array::New(env);
  tap.readCapture([&](const CaptureHdr& h, const uint8_t* data) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("port", h.port);
    o.Set("dir", h.dir ? "tx" : "rx");
    o.Set("timeUs", wallUs(h.ts_ns));
    o.Set("monoNs", double(h.ts_ns));
    o.Set("origLen", h.origlen);
    o.Set("data", Napi::Buffer<uint8_t>::Copy(env, data, h.caplen));
    frames.Set(frames.Length(), o);
  });
  Napi::Object out = Napi::Object::New(env);
  out.Set("frames", frames);
  out.Set("missed", double(tap.captureMissed()));
  out.Set("armed", tap.capturing());
  return out;
}

}  // namespace nfvgw::napi
