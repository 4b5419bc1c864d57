// The receiving end of the end-to-end benchmarks: counts and drops the
// benchmark's UDP datagrams (destination port 9, "discard", or 4789, VXLAN)
// at the XDP hook of the receiving host, so that counting costs the same,
// and as little as possible, whether nfvgw or the Linux kernel forwarded
// them. Everything else (ARP above all) passes to the host's stack.
// The libbpf headers need the kernel types first: keep this order.
// clang-format off
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
// clang-format on

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} nfvgw_sink_cnt SEC(".maps");

SEC("xdp")
int nfvgw_bench_sink(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end || ip->protocol != IPPROTO_UDP || ip->ihl != 5) return XDP_PASS;
  struct udphdr* udp = (void*)(ip + 1);
  if ((void*)(udp + 1) > end) return XDP_PASS;
  if (udp->dest != bpf_htons(9) && udp->dest != bpf_htons(4789)) return XDP_PASS;
  __u32 key = 0;
  __u64* count = bpf_map_lookup_elem(&nfvgw_sink_cnt, &key);
  if (count) *count += 1;
  return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
