// Poptrie construction; see lpm4.h.
//
// The routes first go into a plain binary trie. A poptrie node at depth d
// then looks 6 levels down that trie at once: each of its 64 positions is
// either a child (some route is longer than d + 6 below it) or a leaf (the
// longest route of length <= d + 6 that covers it).
#include "nf/route/lpm4.h"

#include <cstring>

namespace nfvgw {

struct Lpm4::Builder {
  struct BNode {
    int32_t child[2] = {-1, -1};
    uint32_t value = 0;
    bool has = false;
  };
  struct Slot {
    int32_t node;   // binary-trie node at the slot's depth, or -1
    uint32_t best;  // longest match down to and including that depth
  };

  std::vector<BNode> trie;
  Lpm4& out;

  explicit Builder(Lpm4& o) : out(o) { trie.emplace_back(); }

  void insert(uint32_t prefix, uint8_t len, uint32_t value) {
    int32_t t = 0;
    for (uint8_t d = 0; d < len; ++d) {
      uint32_t b = (prefix >> (31 - d)) & 1;
      if (trie[t].child[b] < 0) {
        trie[t].child[b] = int32_t(trie.size());
        trie.emplace_back();
      }
      t = trie[t].child[b];
    }
    trie[t].has = true;
    trie[t].value = value;
  }

  bool hasChildren(int32_t t) const { return t >= 0 && (trie[t].child[0] >= 0 || trie[t].child[1] >= 0); }

  // Expands `bits` levels below trie node t (whose own value is in `best`)
  // into 2^bits slots.
  void expand(int32_t t, uint32_t bits, uint32_t best, Slot* slots) const {
    size_t count = size_t(1) << bits;
    if (t < 0 || !hasChildren(t)) {
      for (size_t i = 0; i < count; ++i) slots[i] = {-1, best};
      return;
    }
    for (uint32_t c = 0; c < 2; ++c) {
      int32_t child = trie[t].child[c];
      uint32_t b = (child >= 0 && trie[child].has) ? trie[child].value : best;
      Slot* half = slots + c * (count / 2);
      if (bits == 1) {
        half[0] = {child, b};
      } else {
        expand(child, bits - 1, b, half);
      }
    }
  }

  // Fills out.nodes_[index] for trie node t.
  void buildNode(int32_t t, uint32_t best, uint32_t index) {
    Slot slots[64];
    expand(t, 6, best, slots);
    uint64_t vector = 0, leafvec = 0;
    uint32_t leaf_base = uint32_t(out.leaves_.size());
    uint32_t prev = 0;
    for (uint32_t i = 0; i < 64; ++i) {
      bool child = hasChildren(slots[i].node);
      if (child) vector |= uint64_t(1) << i;
      // An internal position continues the current run, so runs are not cut
      // by children; a lookup never reads a leaf at an internal position.
      uint32_t v = child ? (i == 0 ? slots[0].best : prev) : slots[i].best;
      if (i == 0 || v != prev) {
        leafvec |= uint64_t(1) << i;
        out.leaves_.push_back(v);
      }
      prev = v;
    }
    uint32_t child_base = uint32_t(out.nodes_.size());
    out.nodes_.resize(out.nodes_.size() + std::popcount(vector));
    out.nodes_[index] = {vector, leafvec, leaf_base, child_base};
    uint32_t k = 0;
    for (uint32_t i = 0; i < 64; ++i) {
      if (vector & (uint64_t(1) << i)) buildNode(slots[i].node, slots[i].best, child_base + k++);
    }
  }
};

void Lpm4::build(const std::vector<Route>& routes, uint32_t default_value) {
  // A table of a handful of routes (a small VPC) keeps to a 1 KiB top level;
  // a larger one takes 256 KiB and saves a level on every lookup.
  dp_bits_ = routes.size() > 64 ? 16 : 8;
  dp_shift_ = 32 - dp_bits_;
  dp_.assign(size_t(1) << dp_bits_, 0);
  nodes_.clear();
  leaves_.clear();

  Builder b(*this);
  uint32_t root_best = default_value;
  for (const Route& r : routes) {
    uint32_t mask = r.len == 0 ? 0 : ~uint32_t(0) << (32 - r.len);
    b.insert(r.prefix & mask, r.len, r.value);
  }
  if (b.trie[0].has) root_best = b.trie[0].value;

  std::vector<Builder::Slot> slots(dp_.size());
  b.expand(0, dp_bits_, root_best, slots.data());
  for (size_t i = 0; i < dp_.size(); ++i) {
    if (b.hasChildren(slots[i].node)) {
      uint32_t index = uint32_t(nodes_.size());
      nodes_.emplace_back();
      b.buildNode(slots[i].node, slots[i].best, index);
      dp_[i] = index;
    } else {
      dp_[i] = kLeaf | slots[i].best;
    }
  }
  nodes_.shrink_to_fit();
  leaves_.shrink_to_fit();
  built_nodes_ = nodes_.size();
}

void Lpm4::update(const std::vector<Route>& routes, uint32_t default_value, uint32_t lo, uint32_t hi) {
  const uint32_t first = lo >> dp_shift_, last = hi >> dp_shift_;
  const bool wide = size_t(last - first) + 1 > dp_.size() / 8;
  if (dp_.empty() || wide || (routes.size() > 64 ? 16u : 8u) != dp_bits_ || nodes_.size() > 2 * built_nodes_ + 64) {
    build(routes, default_value);
    return;
  }
  // The routes that overlap the slots' range, in a trie of their own: the
  // covering ones give the slots their defaults, the inner ones their nodes.
  const uint32_t slot_lo = first << dp_shift_;
  const uint32_t slot_hi = last == (uint32_t(1) << dp_bits_) - 1 ? ~uint32_t(0) : ((last + 1) << dp_shift_) - 1;
  Builder b(*this);
  for (const Route& r : routes) {
    uint32_t mask = r.len == 0 ? 0 : ~uint32_t(0) << (32 - r.len);
    uint32_t start = r.prefix & mask, end = start | ~mask;
    if (end < slot_lo || start > slot_hi) continue;
    b.insert(start, r.len, r.value);
  }
  for (uint32_t i = first; i <= last; ++i) {
    // Down the trie along the slot's address, keeping the longest match.
    uint32_t best = b.trie[0].has ? b.trie[0].value : default_value;
    int32_t t = 0;
    for (uint32_t d = 0; d < dp_bits_ && t >= 0; ++d) {
      t = b.trie[t].child[(i >> (dp_bits_ - 1 - d)) & 1];
      if (t >= 0 && b.trie[t].has) best = b.trie[t].value;
    }
    if (b.hasChildren(t)) {
      uint32_t index = uint32_t(nodes_.size());
      nodes_.emplace_back();
      b.buildNode(t, best, index);
      dp_[i] = index;
    } else {
      dp_[i] = kLeaf | best;
    }
  }
}

}  // namespace nfvgw
