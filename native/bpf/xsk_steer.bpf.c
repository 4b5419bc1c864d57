// The XDP program nfvgw attaches to each AF_XDP port: every frame received on
// a queue that has a gateway socket is redirected into that socket; a queue
// without one (more NIC queues than workers) passes frames to the kernel.
// The program name below is how the gateway recognises a copy left behind by
// a process that died, and removes it at the next start.
// The libbpf headers need the kernel types first: keep this order.
// clang-format off
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
// clang-format on

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u32);
} xsks_map SEC(".maps");

SEC("xdp")
int nfvgw_xsk_steer(struct xdp_md* ctx) { return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS); }

char _license[] SEC("license") = "GPL";
