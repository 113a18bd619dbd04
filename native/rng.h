// PyTorch-compatible CPU random numbers (mt19937 generator, uniform_ and normal_ kernels) on a
// caller-owned state: words 0..623 the mt19937 state, word 624 the index of the next word,
// word 625 flags (bit 0: cache[0] holds a spare double normal sample; bit 1: cache[1] a float one).
#pragma once
#include <cstddef>
#include <cstdint>

namespace mg {

constexpr size_t kRngStateWords = 626;
constexpr size_t kRngCacheSlots = 2;

// torch.manual_seed: mt19937 seeded with the low 32 bits of the seed, caches cleared.
void rngSeed(uint32_t* state, uint64_t seed);

// tensor.uniform_(from, to).
template <class T>
void rngUniform(uint32_t* state, T* out, size_t n, double from, double to);

// tensor.normal_(mean, std).
template <class T>
void rngNormal(uint32_t* state, double* cache, T* out, size_t n, double mean, double stddev);

}  // namespace mg
