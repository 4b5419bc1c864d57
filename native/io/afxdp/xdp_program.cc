// libxdp attach, detach and stale-program cleanup; see xdp_program.h.
#include "io/afxdp/xdp_program.h"

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "core/error.h"
#include "core/netns.h"

namespace nfvgw {

namespace {

thread_local std::string t_last_message;

int capturePrint(const char* fmt, va_list args) {
  char buf[512];
  int n = vsnprintf(buf, sizeof(buf), fmt, args);
  std::string msg(buf);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (!msg.empty()) t_last_message = msg;
  return n;
}

int libxdpPrint(enum libxdp_print_level level, const char* fmt, va_list args) {
  if (level == LIBXDP_DEBUG) return 0;
  return capturePrint(fmt, args);
}

int libbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  return capturePrint(fmt, args);
}

void installPrinters() {
  static std::once_flag once;
  std::call_once(once, [] {
    libxdp_set_print(libxdpPrint);
    libbpf_set_print(libbpfPrint);
  });
}

std::string withLibMessage(const std::string& what) {
  if (t_last_message.empty()) return what;
  return what + " [libxdp: " + t_last_message + "]";
}

}  // namespace

std::string lastLibxdpMessage() { return t_last_message; }

XdpSteering::XdpSteering(const std::string& where, const std::string& netns, const std::string& object_path,
                         int ifindex, XdpMode mode)
    : netns_(netns), ifindex_(ifindex) {
  installPrinters();
  NetnsScope ns(netns_);
  t_last_message.clear();
  prog_ = xdp_program__open_file(object_path.c_str(), "xdp", nullptr);
  long perr = libxdp_get_error(prog_);
  if (perr) {
    prog_ = nullptr;
    throw Error(err::kXdpAttach, withLibMessage(where + ": cannot load XDP program " + object_path), int(-perr));
  }
  int e = 0;
  if (mode != XdpMode::kGeneric) {
    e = xdp_program__attach(prog_, ifindex, XDP_MODE_NATIVE, 0);
    native_ = (e == 0);
  }
  if (!native_ && mode != XdpMode::kNative) e = xdp_program__attach(prog_, ifindex, XDP_MODE_SKB, 0);
  if (e != 0) {
    xdp_program__close(prog_);
    prog_ = nullptr;
    const char* m = mode == XdpMode::kNative ? "native" : mode == XdpMode::kGeneric ? "generic" : "native or generic";
    throw Error(err::kXdpAttach,
                withLibMessage(where + ": cannot attach the XDP program in " + m +
                               " mode (another XDP program on the interface? `xdp-loader status`)"),
                -e);
  }
  attached_ = true;
  map_fd_ = bpf_object__find_map_fd_by_name(xdp_program__bpf_obj(prog_), "xsks_map");
  if (map_fd_ < 0) {
    xdp_program__detach(prog_, ifindex_, native_ ? XDP_MODE_NATIVE : XDP_MODE_SKB, 0);
    attached_ = false;
    xdp_program__close(prog_);
    prog_ = nullptr;
    throw Error(err::kXdpAttach, where + ": XDP program has no xsks_map");
  }
}

XdpSteering::~XdpSteering() {
  detach();
  if (prog_) xdp_program__close(prog_);
}

void XdpSteering::detach() noexcept {
  if (!attached_) return;
  attached_ = false;
  try {
    NetnsScope ns(netns_);
    xdp_program__detach(prog_, ifindex_, native_ ? XDP_MODE_NATIVE : XDP_MODE_SKB, 0);
  } catch (const Error&) {
    // The namespace is gone, and the interface with it: nothing to detach.
    // (Stopping a gateway whose lab was removed first must not throw: it
    // runs from destructors and the process's exit hook.)
  }
}

int XdpSteering::removeStale(int ifindex) {
  installPrinters();
  int removed = 0;
  // Detaching one program can replace the dispatcher, so look again after
  // each removal.
  for (int round = 0; round < 16; ++round) {
    struct xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex);
    if (libxdp_get_error(mp) || !mp) return removed;
    enum xdp_attach_mode mode = xdp_multiprog__attach_mode(mp);
    struct xdp_program* ours = nullptr;
    if (xdp_multiprog__is_legacy(mp)) {
      struct xdp_program* p = xdp_multiprog__main_prog(mp);
      if (p && std::strcmp(xdp_program__name(p), kXskSteerProgName) == 0) ours = p;
    } else {
      for (struct xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p; p = xdp_multiprog__next_prog(p, mp)) {
        if (std::strcmp(xdp_program__name(p), kXskSteerProgName) == 0) {
          ours = p;
          break;
        }
      }
    }
    int e = ours ? xdp_program__detach(ours, ifindex, mode, 0) : -ENOENT;
    xdp_multiprog__close(mp);
    if (e != 0) return removed;
    ++removed;
  }
  return removed;
}

}  // namespace nfvgw
