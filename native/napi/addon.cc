// The nfvgw Node-API addon: the Gateway class and the catalogues (drop
// reasons, events, histogram bins) the control plane turns into metrics.
#include <napi.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/clock.h"
#include "core/drops.h"
#include "core/error.h"
#include "core/memory_probe.h"
#include "core/netns.h"
#include "core/worker_stats.h"
#include "napi/errors.h"
#include "napi/gateway_wrap.h"
#include "napi/tap_wrap.h"
#include "nf/lb/maglev.h"

namespace nfvgw::napi {

namespace {

Napi::Array catalogue(Napi::Env env, const char* const* names, const char* const* help, uint32_t n) {
  Napi::Array a = Napi::Array::New(env, n);
  for (uint32_t i = 0; i < n; ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", names[i]);
    o.Set("help", help[i]);
    a.Set(i, o);
  }
  return a;
}

// maglevBuild(backends: {ip, port, weight}[], size) -> {table: Uint16Array, buildMs}:
// the data plane's own Maglev table, for the tests of its properties and
// the build benchmark.
Napi::Value maglevTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsNumber())
    badArgument(env, "maglevBuild(backends, size): backends must be an array, size a number");
  Napi::Array a = info[0].As<Napi::Array>();
  std::vector<MaglevBackend> backends;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value v = a.Get(i);
    if (!v.IsObject()) badArgument(env, "maglevBuild: backends[" + std::to_string(i) + "] must be an object");
    Napi::Object b = v.As<Napi::Object>();
    const uint32_t ip = b.Get("ip").ToNumber().Uint32Value(), port = b.Get("port").ToNumber().Uint32Value();
    const uint32_t weight = b.Get("weight").ToNumber().Uint32Value();
    if (weight == 0 || port > 65535)
      badArgument(env, "maglevBuild: backends[" + std::to_string(i) + "] needs a weight > 0 and a port");
    backends.push_back({uint64_t(ip) << 16 | port, weight});
  }
  if (backends.size() >= 0xffff) badArgument(env, "maglevBuild: at most 65534 backends");
  const uint32_t size = info[1].As<Napi::Number>().Uint32Value();
  if (!isPrime(size)) badArgument(env, "maglevBuild: the size must be a prime");
  const uint64_t t0 = monoNs();
  std::vector<uint16_t> table = maglevBuild(backends, size);
  const uint64_t t1 = monoNs();
  Napi::Uint16Array out = Napi::Uint16Array::New(env, table.size());
  std::copy(table.begin(), table.end(), out.Data());
  Napi::Object o = Napi::Object::New(env);
  o.Set("table", out);
  o.Set("buildMs", double(t1 - t0) / 1e6);
  return o;
}

// memoryMiss(bytes, chains, loads, core) -> {dependentNs, parallelNs, hugePages}:
// what a load of a random cache line costs here (core/memory_probe.h), for
// the benchmarks' baseline of pipelines with tables past the caches.
Napi::Value memoryMiss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber())
    badArgument(env, "memoryMiss(bytes, chains, loads, core): four numbers");
  const int64_t bytes = info[0].As<Napi::Number>().Int64Value(), loads = info[2].As<Napi::Number>().Int64Value();
  const int64_t chains = info[1].As<Napi::Number>().Int64Value(), core = info[3].As<Napi::Number>().Int64Value();
  if (bytes < (int64_t(64) << 20) || bytes > (int64_t(4) << 30))
    badArgument(env, "memoryMiss: bytes must be from 64 MiB to 4 GiB");
  if (chains < 1 || chains > 64) badArgument(env, "memoryMiss: chains must be from 1 to 64");
  if (loads < 1'000'000 || loads > 1'000'000'000) badArgument(env, "memoryMiss: loads must be from 1M to 1G");
  if (core < -1 || core > 4095) badArgument(env, "memoryMiss: core must be a core number, or -1 for any");
  MemoryMiss m;
  try {
    m = measureMemoryMiss(size_t(bytes), uint32_t(chains), uint64_t(loads), int(core));
  } catch (const Error& e) {
    throw toJs(env, e.code(), e.what());
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("dependentNs", m.dependent_ns);
  o.Set("parallelNs", m.parallel_ns);
  o.Set("hugePages", m.huge_pages);
  return o;
}

// socketIn(netns) -> fd: a non-blocking TCP socket created inside a network
// namespace (it stays there), for health checks the control plane runs
// from the namespace that reaches the backends.
Napi::Value socketIn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) badArgument(env, "socketIn(netns): netns must be a string");
  int fd;
  try {
    NetnsScope in(info[0].As<Napi::String>().Utf8Value());
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  } catch (const Error& e) {
    throw toJs(env, e.code(), e.what());
  }
  if (fd < 0) throw toJs(env, err::kNetns, std::string("socket: ") + std::strerror(errno));
  return Napi::Number::New(env, fd);
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("Gateway", GatewayWrap::define(env));
  exports.Set("dropReasons", catalogue(env, kDropNames, kDropHelp, kDropCount));
  exports.Set("events", catalogue(env, kEventNames, kEventHelp, kEventCount));
  Napi::Array bins = Napi::Array::New(env, kBurstBins);
  for (uint32_t i = 0; i < kBurstBins; ++i) bins.Set(i, kBurstBinUpper[i]);
  exports.Set("burstBins", bins);
  exports.Set("frameDataMax", kFrameDataMax);
  exports.Set("maxBurst", kMaxBurst);
  exports.Set("maglevBuild", Napi::Function::New(env, maglevTable, "maglevBuild"));
  exports.Set("memoryMiss", Napi::Function::New(env, memoryMiss, "memoryMiss"));
  exports.Set("socketIn", Napi::Function::New(env, socketIn, "socketIn"));
  exports.Set("tapNames", tapNames(env));
  return exports;
}

}  // namespace

}  // namespace nfvgw::napi

static Napi::Object initAddon(Napi::Env env, Napi::Object exports) { return nfvgw::napi::init(env, exports); }
NODE_API_MODULE(nfvgw, initAddon)
