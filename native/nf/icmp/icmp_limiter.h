// A token bucket for the ICMP errors one worker sends (as the kernel limits
// them with net.ipv4.icmp_msgs_per_sec and icmp_msgs_burst): a flood of
// expired or unroutable packets must not turn into a flood of replies.
#pragma once

#include <cstdint>

namespace nfvgw {

class IcmpLimiter {
 public:
  bool allow(uint64_t now_ns, uint32_t per_sec, uint32_t burst) {
    if (last_ns_ == 0) {
      tokens_ = burst;
    } else if (now_ns > last_ns_) {
      tokens_ += double(now_ns - last_ns_) * per_sec / 1e9;
      if (tokens_ > burst) tokens_ = burst;
    }
    last_ns_ = now_ns;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  double tokens_ = 0;
  uint64_t last_ns_ = 0;
};

}  // namespace nfvgw
