// IPv4 longest-prefix match: a poptrie (Asai and Ohara, "Poptrie: A
// Compressed Trie with Population Count for Fast and Scalable Software IP
// Routing Table Lookup", SIGCOMM 2015).
//
// Built once from a route list (off the fast path), then read-only. A lookup
// indexes a direct-pointing array with the top bits of the address, then
// walks 6-bit strides; at each node a popcount over a 64-bit vector finds
// the child or the leaf, so the structure stays compact (no 256-entry
// arrays) and a lookup touches 1 to 4 cache lines for any table size.
// Leaves are run-length compressed per node (leafvec), as in the paper.
//
// Why not DIR-24-8 (DPDK rte_lpm): its 64 MiB first level per table is fine
// for one table but not for one per VPC; the poptrie sizes itself to the
// routes (the direct-pointing level is 2^8 or 2^16 entries by table size).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace nfvgw {

class Lpm4 {
 public:
  struct Route {
    uint32_t prefix;  // host byte order; bits beyond `len` are ignored
    uint8_t len;      // 0..32
    uint32_t value;   // < 2^31
  };

  // Replaces the table. Later duplicates of a (prefix, len) win. Addresses no
  // route covers look up `default_value`.
  void build(const std::vector<Route>& routes, uint32_t default_value);

  // The table after a change to `routes` (the whole list, as build() takes
  // it) that only touches addresses [lo, hi]: builds again the subtrees of
  // the top-level slots that range covers, from the routes that overlap it,
  // and appends them; the rest stays. A route of /16 or longer in a big
  // table touches one slot: a change costs a scan of the list and a small
  // build, not the whole table's. Falls back to build() when the range is
  // wide, the top level would change size, or the replaced subtrees left
  // as much garbage as the table holds.
  void update(const std::vector<Route>& routes, uint32_t default_value, uint32_t lo, uint32_t hi);

  __attribute__((always_inline)) uint32_t lookup(uint32_t addr) const {
    uint32_t e = dp_[addr >> dp_shift_];
    if (e & kLeaf) return e & ~kLeaf;
    const Node* n = &nodes_[e];
    uint32_t off = dp_bits_;
    for (;;) {
      uint64_t bit = uint64_t(1) << extract6(addr, off);
      uint64_t upto = (bit << 1) - 1;  // bits 0..index; all ones when index is 63
      if (!(n->vector & bit)) return leaves_[n->leaf_base + std::popcount(n->leafvec & upto) - 1];
      n = &nodes_[n->child_base + std::popcount(n->vector & upto) - 1];
      off += 6;
    }
  }

  size_t memoryBytes() const {
    return dp_.size() * sizeof(uint32_t) + nodes_.size() * sizeof(Node) + leaves_.size() * sizeof(uint32_t);
  }
  size_t nodeCount() const { return nodes_.size(); }

 private:
  static constexpr uint32_t kLeaf = 0x80000000u;

  struct Node {
    uint64_t vector;   // bit i: position i has a child node
    uint64_t leafvec;  // bit i: a run of equal leaves starts at position i
    uint32_t leaf_base;
    uint32_t child_base;
  };

  // Six address bits starting at bit `off` from the top; past bit 31 the
  // missing low bits read as zero (the builder expands them the same way).
  static uint32_t extract6(uint32_t addr, uint32_t off) {
    return off <= 26 ? (addr >> (26 - off)) & 63 : (addr << (off - 26)) & 63;
  }

  struct Builder;

  uint32_t dp_bits_ = 16;
  size_t built_nodes_ = 0;  // after the last build(): what update() may add as much garbage as
  uint32_t dp_shift_ = 16;
  std::vector<uint32_t> dp_;
  std::vector<Node> nodes_;
  std::vector<uint32_t> leaves_;
};

}  // namespace nfvgw
