// Reading the plain objects the TypeScript control plane hands over into
// the data plane's own structs (the boundary is coarse: one object per call,
// copied, nothing kept). The control plane validates first; these checks
// only keep a wrong call from crashing the process.
#pragma once

#include <napi.h>

#include <iterator>

#include "dataplane/gateway.h"
#include "dataplane/snapshot.h"

namespace nfvgw::napi {

GatewaySpec toGatewaySpec(const Napi::Object& o);
SnapshotSpec toSnapshotSpec(const Napi::Object& o);
// The names the control plane gives next-hop kinds and VPC route target
// kinds, by enum value: one list each for reading specs, route lookups and
// trace records.
inline constexpr const char* kNhKindNames[] = {"none", "local", "connected", "via", "blackhole", "unreachable", "lb"};
static_assert(std::size(kNhKindNames) == size_t(NhKind::kLoadBalancer) + 1);
inline constexpr const char* kOverlayKindNames[] = {"none",      "local",      "peering", "transit", "eni",
                                                    "blackhole", "attachment", "nat",     "igw"};
static_assert(std::size(kOverlayKindNames) == size_t(OverlayKind::kIgw) + 1);

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
