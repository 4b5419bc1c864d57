// See thread_counters.h.
#include "core/thread_counters.h"

#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace nfvgw {

namespace {

int openCounter(uint64_t config, int group) {
  perf_event_attr a;
  std::memset(&a, 0, sizeof(a));
  a.size = sizeof(a);
  a.type = PERF_TYPE_HARDWARE;
  a.config = config;
  a.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
  a.disabled = group < 0;  // the leader starts the group once both are in
  a.exclude_kernel = 1;    // the worker's own work: the packet loop makes no system calls
  a.exclude_hv = 1;
  return int(syscall(SYS_perf_event_open, &a, 0 /* this thread */, -1 /* any CPU */, group, PERF_FLAG_FD_CLOEXEC));
}

}  // namespace

bool ThreadCounters::open() {
  close();
  leader_ = openCounter(PERF_COUNT_HW_CPU_CYCLES, -1);
  if (leader_ < 0) return false;
  member_ = openCounter(PERF_COUNT_HW_INSTRUCTIONS, leader_);
  if (member_ < 0 || ioctl(leader_, PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP) != 0) {
    close();
    return false;
  }
  return true;
}

ThreadCounters::Counts ThreadCounters::read() const {
  Counts c;
  // The group's size, the time it was enabled and the time it was on the
  // processor, then cycles and instructions. When other users of the
  // counters (a perf record) had it taken off part of the time, the counts
  // are scaled up to the whole of it, as perf stat does.
  uint64_t v[5];
  if (leader_ < 0 || ::read(leader_, v, sizeof(v)) != ssize_t(sizeof(v)) || v[0] != 2 || v[2] == 0) return c;
  const double scale = double(v[1]) / double(v[2]);
  c.cycles = uint64_t(double(v[3]) * scale);
  c.instructions = uint64_t(double(v[4]) * scale);
  return c;
}

void ThreadCounters::close() {
  if (member_ >= 0) ::close(member_);
  if (leader_ >= 0) ::close(leader_);
  member_ = leader_ = -1;
}

}  // namespace nfvgw
