// The data plane of one gateway process: its ports, its workers, the
// published configuration snapshot, the learned neighbors and the tracked
// connections.
//
// Lifecycle: the constructor opens every port (attaching XDP where needed)
// and prepares the workers; start() publishes the first snapshot and starts
// the threads; publish() swaps in later snapshots without stopping traffic;
// stop() (or the destructor) stops the workers, closes the sockets and takes
// the XDP programs off the interfaces. Everything except the worker threads
// runs on one control thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/hugemem.h"
#include "core/qsbr.h"
#include "core/tap.h"
#include "core/worker.h"
#include "dataplane/snapshot.h"
#include "io/afxdp/xdp_program.h"
#include "io/mem/mem_queue.h"
#include "io/netdev.h"
#include "nf/arp/neighbor_table.h"
#include "nf/conntrack/conntrack.h"

namespace nfvgw {

enum class PortKind : uint8_t { kAfXdp, kAfPacket, kMem };
enum class ZeroCopy : uint8_t { kAuto, kOn, kOff };
enum class PipelineKind : uint8_t { kL3, kFloor, kPatch };

struct PortSpec {
  std::string name;
  PortKind kind = PortKind::kMem;
  std::string ifname;  // af_xdp, af_packet
  std::string netns;   // "" = the process's namespace
  XdpMode xdp_mode = XdpMode::kAuto;
  ZeroCopy zero_copy = ZeroCopy::kAuto;
  uint32_t ring_size = 2048;  // af_xdp rings; af_packet TX frames
  // mem ports only: their address and MTU (interfaces report their own)
  uint8_t mac[6] = {};
  uint32_t mtu = 1500;
  uint32_t mem_slots = 1024;
};

struct WorkerSpec {
  int core = -1;
  PollMode mode = PollMode::kAdaptive;
};

struct GatewaySpec {
  std::vector<PortSpec> ports;
  std::vector<WorkerSpec> workers;
  uint32_t burst = 32;
  HugePagePolicy hugepages = HugePagePolicy::kAuto;
  std::string bpf_dir;  // where xsk_steer.bpf.o is
  uint32_t neighbor_capacity = 65536;
  PipelineKind pipeline = PipelineKind::kL3;
  uint32_t idle_spin_us = 200;
  uint32_t tx_drain_us = 50;  // longest a frame waits for a batched TX kick
  uint32_t conntrack_capacity = 262144;
};

// What the control plane can read about an opened port.
struct PortState {
  PortSpec spec;
  NetDevInfo dev;
  bool zero_copy = false;
  bool xdp_native = false;
  int stale_programs_removed = 0;
};

class Gateway {
 public:
  // Opens the ports and prepares the workers. Throws Error with the port,
  // queue and errno of whatever failed; nothing stays attached or open then.
  explicit Gateway(GatewaySpec spec);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  void start(std::unique_ptr<Snapshot> first);
  // Publishes `next`; the old snapshot is freed once every worker has passed
  // a quiescent point (immediately when they are idle or not started).
  void publish(std::unique_ptr<Snapshot> next);
  // Frees retired snapshots whose grace period is over; waits up to
  // `wait_ms` for it. Returns how many are still waiting.
  size_t reclaim(uint32_t wait_ms);
  void stop();

  bool started() const { return started_; }
  bool stopped() const { return stopped_; }
  const Snapshot* current() const { return current_.load(std::memory_order_acquire); }
  const std::vector<PortState>& ports() const { return ports_; }
  const std::vector<PortIdentity>& identities() const { return identities_; }
  size_t workerCount() const { return workers_.size(); }
  const WorkerBase& worker(size_t i) const { return *workers_[i]; }
  const NeighborTable& neighbors() const { return *neigh_; }
  // The connection table (inspection and flushing from the control thread).
  ConnTable& conntrack() { return *conntrack_; }
  // For snapshot builds (any thread: the table is lock-free).
  NeighborTable* mutableNeighbors() { return neigh_.get(); }
  const GatewaySpec& spec() const { return spec_; }
  // Setup warnings (huge-page fallback, unserved queues); the caller logs them.
  const std::vector<std::string>& warnings() const { return warnings_; }

  // Packet traces and captures (arming and reading from the control thread).
  Tap& tap() { return *tap_; }

  // The in-memory queue of `port` served by `worker`, or nullptr.
  MemQueue* memQueue(uint16_t port, uint16_t worker) const;

 private:
  void openPorts();
  void createWorkers();
  void closeAll();

  GatewaySpec spec_;
  std::vector<PortState> ports_;
  std::vector<PortIdentity> identities_;
  std::vector<std::unique_ptr<XdpSteering>> xdp_;  // per port, null unless af_xdp
  std::unique_ptr<NeighborTable> neigh_;
  Qsbr qsbr_;
  std::unique_ptr<ConnTable> conntrack_;
  std::unique_ptr<Tap> tap_;
  std::atomic<const Snapshot*> current_{nullptr};
  std::vector<std::pair<uint64_t, const Snapshot*>> retired_;
  std::vector<std::unique_ptr<WorkerBase>> workers_;
  std::vector<std::string> warnings_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace nfvgw
