// Errors crossing into JavaScript: every nfvgw::Error becomes a JS Error
// with the same `code` (NFVGW_ERR_*) and, when a system call failed,
// `errno`. The only file besides napi/*.cc that knows about <napi.h>.
#pragma once

#include <napi.h>

#include "core/error.h"

namespace nfvgw::napi {

inline Napi::Error toJs(Napi::Env env, const std::string& code, const std::string& message, int sys_errno = 0) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  if (sys_errno) e.Set("errno", Napi::Number::New(env, sys_errno));
  return e;
}

inline Napi::Error toJs(Napi::Env env, const Error& err) { return toJs(env, err.code(), err.what(), err.sysErrno()); }

// Runs `fn`, turning C++ errors into JS exceptions with a code.
template <class Fn>
auto guard(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const Error& e) {
    throw toJs(env, e);
  } catch (const std::exception& e) {
    throw toJs(env, "NFVGW_ERR_INTERNAL", e.what());
  }
}

// An argument error in the shape of the others.
[[noreturn]] inline void badArgument(Napi::Env env, const std::string& what) { throw toJs(env, err::kArgument, what); }

}  // namespace nfvgw::napi
