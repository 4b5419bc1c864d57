// Entering and leaving a network namespace on the current thread; see netns.h.
#include "core/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "core/error.h"

namespace nfvgw {

NetnsScope::NetnsScope(const std::string& name) {
  if (name.empty()) return;
  std::string path = name[0] == '/' ? name : "/var/run/netns/" + name;
  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) throw Error(err::kNetns, "network namespace '" + name + "' (" + path + ")", errno);
  saved_fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved_fd_ < 0) {
    int e = errno;
    close(target);
    throw Error(err::kNetns, "cannot open the current network namespace", e);
  }
  if (setns(target, CLONE_NEWNET) != 0) {
    int e = errno;
    close(target);
    close(saved_fd_);
    saved_fd_ = -1;
    throw Error(err::kNetns, "cannot enter network namespace '" + name + "'", e);
  }
  close(target);
}

NetnsScope::~NetnsScope() {
  if (saved_fd_ < 0) return;
  if (setns(saved_fd_, CLONE_NEWNET) != 0) {
    // Staying in the wrong namespace would make every later socket of this
    // thread land there: that must not go unnoticed.
    std::perror("nfvgw: cannot return to the original network namespace");
    std::abort();
  }
  close(saved_fd_);
}

}  // namespace nfvgw
