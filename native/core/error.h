// Errors of the data plane's setup path (opening ports, attaching XDP,
// reserving memory, checking a snapshot). Never thrown per packet: the fast
// path reports problems as drop reasons and counters instead.
#pragma once

#include <cerrno>
#include <cstring>
#include <exception>
#include <string>

namespace nfvgw {

// One error class with a stable code (the NFVGW_ERR_* catalogue the control
// plane maps to API errors), a message that says what failed and where, and
// the errno when a system call failed.
class Error : public std::exception {
 public:
  Error(std::string code, std::string message, int sys_errno = 0)
      : code_(std::move(code)), message_(std::move(message)), errno_(sys_errno) {
    if (errno_ != 0) {
      message_ += ": ";
      message_ += std::strerror(errno_);
      message_ += " (errno " + std::to_string(errno_) + ")";
    }
  }
  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& code() const { return code_; }
  int sysErrno() const { return errno_; }

 private:
  std::string code_;
  std::string message_;
  int errno_;
};

namespace err {
inline constexpr const char* kPortOpen = "NFVGW_ERR_PORT_OPEN";
inline constexpr const char* kXdpAttach = "NFVGW_ERR_XDP_ATTACH";
inline constexpr const char* kMemory = "NFVGW_ERR_MEMORY";
inline constexpr const char* kNetns = "NFVGW_ERR_NETNS";
inline constexpr const char* kWorker = "NFVGW_ERR_WORKER";
inline constexpr const char* kSnapshot = "NFVGW_ERR_SNAPSHOT";
inline constexpr const char* kState = "NFVGW_ERR_STATE";
inline constexpr const char* kArgument = "NFVGW_ERR_ARGUMENT";
}  // namespace err

}  // namespace nfvgw
