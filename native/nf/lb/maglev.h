// Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of
// a prime size M in which each backend holds a share of the slots
// proportional to its weight. Every backend walks its own permutation of
// the slots (an offset and a skip from two hashes of its identity) and
// takes the next free one in its turn, so the table depends only on the
// set of backends: two gateways with the same configuration build the
// same table, and removing one backend of N frees its slots while most of
// the others keep theirs (about 1/N of flows move, few between the
// survivors).
//
// Weights: in each round a backend adds its weight to a credit and takes a
// slot for every full `max weight` of credit (Katran's weighted variant),
// so the shares follow the weights and a backend of weight w takes about
// w/sum(w) of the slots.
#pragma once

#include <cstdint>
#include <vector>

namespace nfvgw {

struct MaglevBackend {
  uint64_t id;      // its identity (address and port); the permutation depends on it alone
  uint32_t weight;  // > 0
};

// The table: for each of `size` slots (a prime) the index into `backends`.
// Empty when there are no backends.
std::vector<uint16_t> maglevBuild(const std::vector<MaglevBackend>& backends, uint32_t size);

// A prime of at least `n` (the table sizes the configuration allows).
bool isPrime(uint32_t n);

}  // namespace nfvgw
