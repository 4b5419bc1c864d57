// Attaching nfvgw's XDP steering program (native/bpf/xsk_steer.bpf.c) to an
// interface through libxdp, and taking it off again.
//
// Native (driver) mode is tried first and generic (skb) mode after it, unless
// the port asks for one. libxdp runs the program under its multi-program
// dispatcher when bpffs is mounted, so other XDP programs can share the
// interface; without bpffs it attaches the program alone.
#pragma once

#include <string>

struct xdp_program;

namespace nfvgw {

enum class XdpMode : uint8_t { kAuto, kNative, kGeneric };

inline constexpr const char* kXskSteerProgName = "nfvgw_xsk_steer";

class XdpSteering {
 public:
  // `where` names the port in errors ("port p0 (eth1)"); `netns` is the
  // interface's network namespace ("" = ours), entered for attach and
  // detach. Throws Error(kXdpAttach).
  XdpSteering(const std::string& where, const std::string& netns, const std::string& object_path, int ifindex,
              XdpMode mode);
  ~XdpSteering();
  XdpSteering(const XdpSteering&) = delete;
  XdpSteering& operator=(const XdpSteering&) = delete;

  // Takes the program off the interface. Safe to call twice.
  void detach() noexcept;
  int xsksMapFd() const { return map_fd_; }
  bool native() const { return native_; }

  // Removes copies of our program that a previous process left on
  // `ifindex` (it died without detaching). Runs in the caller's namespace.
  // Returns how many it removed.
  static int removeStale(int ifindex);

 private:
  struct xdp_program* prog_ = nullptr;
  std::string netns_;
  int ifindex_ = 0;
  int map_fd_ = -1;
  bool native_ = false;
  bool attached_ = false;
};

// The last message libxdp or libbpf printed on this thread (for error texts).
std::string lastLibxdpMessage();

}  // namespace nfvgw
