// Reading the plain objects the TypeScript control plane hands over into
// the data plane's own structs (the boundary is coarse: one object per call,
// copied, nothing kept). The control plane validates first; these checks
// only keep a wrong call from crashing the process.
#pragma once

#include <napi.h>

#include "dataplane/gateway.h"
#include "dataplane/snapshot.h"

namespace nfvgw::napi {

GatewaySpec toGatewaySpec(const Napi::Object& o);
SnapshotSpec toSnapshotSpec(const Napi::Object& o);
// VPC route changes (GatewayWrap::changeRoutes): the routes as RouteArrays
// whose target kRemoveRoute removes the route, and the targets to append.
inline constexpr uint32_t kRemoveRoute = 0xffffffffu;
struct RouteChangeSpec {
  std::vector<OverlayTables::RouteChange> changes;
  std::vector<OverlayTarget> added;
};
RouteChangeSpec toRouteChanges(const Napi::Object& o);
std::vector<std::vector<uint8_t>> toFrames(const Napi::Value& v, const char* what);
std::string macString(const uint8_t* mac);

}  // namespace nfvgw::napi
