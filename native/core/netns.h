// Runs setup code inside another network namespace.
//
// A port may name the namespace its interface lives in (`ip netns` name, or a
// path such as /proc/PID/ns/net). Sockets keep the namespace they were created
// in, so the gateway enters the namespace on the calling thread only while it
// opens sockets and attaches XDP, then returns; the workers and the control
// plane stay where they are.
#pragma once

#include <string>

namespace nfvgw {

class NetnsScope {
 public:
  // Enters `name` ("" stays in the current namespace). Throws Error(kNetns).
  explicit NetnsScope(const std::string& name);
  ~NetnsScope();
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;

 private:
  int saved_fd_ = -1;
};

}  // namespace nfvgw
