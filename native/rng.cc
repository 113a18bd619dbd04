// Built without -march flags and with -ffp-contract=off: the same bits on every machine.
#include "rng.h"

#include <cmath>

namespace mg {
namespace {

constexpr uint32_t kN = 624, kM = 397;
constexpr uint32_t kIndexWord = 624, kFlagsWord = 625;
constexpr uint32_t kCachedDouble = 1u;
constexpr double kPi = 3.14159265358979323846;

class Mt19937 {
 public:
  explicit Mt19937(uint32_t* state) : s_(state) {}

  uint32_t random() {
    uint32_t& index = s_[kIndexWord];
    if (index >= kN) {  // also repairs an out-of-range index
      twist();
      index = 0;
    }
    uint32_t y = s_[index++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
  }

  // PyTorch's random64(): first draw in the high half.
  uint64_t random64() {
    const uint64_t hi = random();
    return (hi << 32) | random();
  }

  uint32_t& flags() { return s_[kFlagsWord]; }

 private:
  void twist() {
    for (uint32_t i = 0; i < kN; ++i) {
      const uint32_t y = (s_[i] & 0x80000000u) | (s_[(i + 1) % kN] & 0x7fffffffu);
      s_[i] = s_[(i + kM) % kN] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    }
  }

  uint32_t* s_;
};

// at::uniform_real_distribution<T>: 24 random bits for float, 53 for double. For float the
// product and sum are in double (ATen's dist_acctype<float> on CPU), (to - from) in float, and the
// result is rounded to float once: checked against real PyTorch (test/fixtures).
float uniformValue(Mt19937& g, float from, float to) {
  const double x = double(g.random() & ((1u << 24) - 1)) * (1.0 / double(1u << 24));
  return float(x * double(to - from) + double(from));
}
double uniformValue(Mt19937& g, double from, double to) {
  const double x = double(g.random64() & ((uint64_t(1) << 53) - 1)) *
                   (1.0 / double(uint64_t(1) << 53));
  return x * (to - from) + from;
}

// at::normal_distribution<double> (used by normal_ below 16 elements): Box–Muller in double,
// keeping the second sample for the next call.
double scalarNormal(Mt19937& g, double* cache, double mean, double sd) {
  if (g.flags() & kCachedDouble) {
    g.flags() &= ~kCachedDouble;
    return cache[0] * sd + mean;
  }
  const double u1 = uniformValue(g, 0.0, 1.0);
  const double u2 = uniformValue(g, 0.0, 1.0);
  const double r = std::sqrt(-2.0 * std::log1p(-u2));
  const double theta = 2.0 * kPi * u1;
  cache[0] = r * std::sin(theta);
  g.flags() |= kCachedDouble;
  return r * std::cos(theta) * sd + mean;
}

// normal_fill_16: turns 16 uniforms in [0, 1) into 16 normals, pairing d[j] with d[j + 8].
// theta is computed in T: for float that is PyTorch's AVX2 kernel (normal_fill_16_AVX2, used
// on every x86 CPU with AVX2), whose float product differs from the portable kernel's
// double one by an ulp of theta. PyTorch uses SLEEF there for log/sin/cos, which may differ
// from libm's by an ulp.
template <class T>
void normalFill16(T* d, T mean, T sd) {
  const T twoPi = T(2.0f * kPi);
  for (int j = 0; j < 8; ++j) {
    const T u1 = 1 - d[j];  // (0, 1] for the log
    const T u2 = d[j + 8];
    const T radius = std::sqrt(-2 * std::log(u1));
    const T theta = twoPi * u2;
    d[j] = radius * std::cos(theta) * sd + mean;
    d[j + 8] = radius * std::sin(theta) * sd + mean;
  }
}

}  // namespace

void rngSeed(uint32_t* state, uint64_t seed) {
  state[0] = uint32_t(seed);
  for (uint32_t i = 1; i < kN; ++i)
    state[i] = 1812433253u * (state[i - 1] ^ (state[i - 1] >> 30)) + i;
  state[kIndexWord] = kN;  // the first draw twists
  state[kFlagsWord] = 0;
}

template <class T>
void rngUniform(uint32_t* state, T* out, size_t n, double from, double to) {
  Mt19937 g(state);
  const T lo = T(from), hi = T(to);
  for (size_t i = 0; i < n; ++i) out[i] = uniformValue(g, lo, hi);
}

template <class T>
void rngNormal(uint32_t* state, double* cache, T* out, size_t n, double mean, double sd) {
  Mt19937 g(state);
  if (n < 16) {
    for (size_t i = 0; i < n; ++i) out[i] = T(scalarNormal(g, cache, mean, sd));
    return;
  }
  // PyTorch's normal_fill: all uniforms first, then blocks of 16; a ragged tail is redone
  // as the last 16 elements from fresh uniforms.
  const T m = T(mean), s = T(sd);
  for (size_t i = 0; i < n; ++i) out[i] = uniformValue(g, T(0), T(1));
  for (size_t i = 0; i + 16 <= n; i += 16) normalFill16(out + i, m, s);
  if (n % 16 != 0) {
    T* tail = out + n - 16;
    for (size_t i = 0; i < 16; ++i) tail[i] = uniformValue(g, T(0), T(1));
    normalFill16(tail, m, s);
  }
}

template void rngUniform<float>(uint32_t*, float*, size_t, double, double);
template void rngUniform<double>(uint32_t*, double*, size_t, double, double);
template void rngNormal<float>(uint32_t*, double*, float*, size_t, double, double);
template void rngNormal<double>(uint32_t*, double*, double*, size_t, double, double);

}  // namespace mg
