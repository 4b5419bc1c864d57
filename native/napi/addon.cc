// The nfvgw Node-API addon: the Gateway class and the catalogues (drop
// reasons, events, histogram bins) the control plane turns into metrics.
#include <napi.h>

#include "core/drops.h"
#include "core/worker_stats.h"
#include "napi/gateway_wrap.h"

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

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("Gateway", GatewayWrap::define(env));
  exports.Set("dropReasons", catalogue(env, kDropNames, kDropHelp, kDropCount));
  exports.Set("events", catalogue(env, kEventNames, kEventHelp, kEventCount));
  Napi::Array bins = Napi::Array::New(env, kBurstBins);
  for (uint32_t i = 0; i < kBurstBins; ++i) bins.Set(i, kBurstBinUpper[i]);
  exports.Set("burstBins", bins);
  exports.Set("frameDataMax", kFrameDataMax);
  exports.Set("maxBurst", kMaxBurst);
  return exports;
}

}  // namespace

}  // namespace nfvgw::napi

static Napi::Object initAddon(Napi::Env env, Napi::Object exports) { return nfvgw::napi::init(env, exports); }
NODE_API_MODULE(nfvgw, initAddon)
