// Maglev table population; see maglev.h.
#include "nf/lb/maglev.h"

#include <algorithm>

#include "core/flat_map.h"

namespace nfvgw {

std::vector<uint16_t> maglevBuild(const std::vector<MaglevBackend>& backends, uint32_t size) {
  constexpr uint16_t kFree = 0xffff;
  std::vector<uint16_t> table;
  const size_t n = backends.size();
  if (n == 0 || size < 2) return table;
  table.assign(size, kFree);
  struct Walk {
    uint64_t pos, skip, credit;
  };
  std::vector<Walk> walk(n);
  uint32_t max_weight = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t h1 = hash64(backends[i].id ^ 0x6d61676c65763031ull);
    const uint64_t h2 = hash64(backends[i].id ^ 0x736b697070657232ull);
    walk[i] = {h1 % size, h2 % (size - 1) + 1, 0};
    max_weight = std::max(max_weight, backends[i].weight);
  }
  if (max_weight == 0) return {};
  uint32_t filled = 0;
  for (;;) {
    for (size_t i = 0; i < n; ++i) {
      Walk& w = walk[i];
      w.credit += backends[i].weight;
      if (w.credit < max_weight) continue;
      w.credit -= max_weight;
      // The backend's next preferred slot that nobody has taken.
      while (table[w.pos] != kFree) w.pos = (w.pos + w.skip) % size;
      table[w.pos] = uint16_t(i);
      w.pos = (w.pos + w.skip) % size;
      if (++filled == size) return table;
    }
  }
}

bool isPrime(uint32_t n) {
  if (n < 2) return false;
  for (uint32_t d = 2; uint64_t(d) * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}

}  // namespace nfvgw
