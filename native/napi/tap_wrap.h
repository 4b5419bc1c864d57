// The addon's side of packet traces and captures (core/tap.h): arming,
// reading, and the names the control plane decodes trace records with.
#pragma once

#include <napi.h>

namespace nfvgw::napi {

// exports.tapNames: the trace record kinds and the enums their numbers name.
Napi::Object tapNames(Napi::Env env);

}  // namespace nfvgw::napi
