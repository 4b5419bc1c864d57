// The addon's Gateway class: a thin JS face over nfvgw::Gateway. The native
// handle stays inside this object; the TypeScript wrapper keeps this object
// private in turn (src/dataplane/gateway.ts).
#pragma once

#include <napi.h>

#include <memory>

#include "dataplane/gateway.h"

namespace nfvgw::napi {

class GatewayWrap : public Napi::ObjectWrap<GatewayWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit GatewayWrap(const Napi::CallbackInfo& info);
  ~GatewayWrap() override;

  Gateway* gateway() const { return gw_.get(); }

 private:
  Gateway& live(Napi::Env env) const;

  Napi::Value start(const Napi::CallbackInfo& info);
  Napi::Value apply(const Napi::CallbackInfo& info);
  Napi::Value changeRoutes(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  Napi::Value info(const Napi::CallbackInfo& info);
  Napi::Value stats(const Napi::CallbackInfo& info);
  // Per load-balancer backend slot: connections, packets, bytes, active connections.
  Napi::Value lbStats(const Napi::CallbackInfo& info);
  Napi::Value routeLookup(const Napi::CallbackInfo& info);
  Napi::Value vpcRouteLookup(const Napi::CallbackInfo& info);
  Napi::Value neighbors(const Napi::CallbackInfo& info);
  Napi::Value flows(const Napi::CallbackInfo& info);
  Napi::Value flushFlows(const Napi::CallbackInfo& info);
  Napi::Value natUsage(const Napi::CallbackInfo& info);
  Napi::Value memInject(const Napi::CallbackInfo& info);
  Napi::Value memDrain(const Napi::CallbackInfo& info);
  Napi::Value memPending(const Napi::CallbackInfo& info);
  Napi::Value memReplay(const Napi::CallbackInfo& info);
  Napi::Value memSink(const Napi::CallbackInfo& info);
  Napi::Value replayResult(const Napi::CallbackInfo& info);
  // Packet traces and captures (tap_wrap.cc).
  Napi::Value traceStart(const Napi::CallbackInfo& info);
  Napi::Value traceRead(const Napi::CallbackInfo& info);
  Napi::Value captureStart(const Napi::CallbackInfo& info);
  Napi::Value captureRead(const Napi::CallbackInfo& info);

  static void cleanupHook(void* self);
  void shutdown();

  std::unique_ptr<Gateway> gw_;
  bool hook_installed_ = false;
};

}  // namespace nfvgw::napi
