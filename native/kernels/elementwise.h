// Unary and broadcasting binary elementwise kernels. Included only by native/variant.cc, once
// per ISA variant. tanh, sigmoid, log, exp and softplus run on Eigen's packet math (vectorised for the
// variant's ISA) in double, within an ulp or two of libm, with libm for the inputs outside the
// range where that holds; so do exp and softplus. The other transcendentals use libm (Eigen's
// float versions are several ulps off on some ISAs); the simple ops are plain loops that the
// compiler vectorises.
#pragma once
#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "../kernels.h"

namespace mg {
namespace MG_ISA {
namespace {

template <class T, class F>
inline void mapUnary(const T* a, T* out, size_t n, F f) {
  for (size_t i = 0; i < n; ++i) out[i] = f(a[i]);
}

// Packet map: `vec` on Eigen arrays of the compute type C (double, or float where that is as
// accurate), block by block, then `scalar` for the inputs outside [lo, hi] (and NaN). Blocks are
// copied to aligned buffers padded to a whole number of 64-byte packets, so every element takes
// the same path whatever its position or the buffers' alignment (Eigen computes unaligned heads
// and ragged tails with its scalar functors), and out may alias a. `vec(x, y, e, t)` writes y
// from x and may use e and t as scratch (materialising a shared subexpression there is what makes
// Eigen vectorise it once instead of re-evaluating it).
template <class C>
using PacketArrOf = Eigen::Map<Eigen::Array<C, Eigen::Dynamic, 1>, Eigen::Aligned64>;
using PacketArr = PacketArrOf<double>;
template <class C, class T, class V, class S>
inline void mapPacketAs(const T* a, T* out, size_t n, V vec, S scalar, T lo, T hi) {
  constexpr size_t kBlock = 256;
  constexpr size_t kLanes = 64 / sizeof(C);
  alignas(64) C x[kBlock];
  alignas(64) C y[kBlock];
  alignas(64) C e[kBlock];
  alignas(64) C t[kBlock];
  for (size_t at = 0; at < n; at += kBlock) {
    const size_t m = n - at < kBlock ? n - at : kBlock;
    const size_t padded = (m + kLanes - 1) & ~(kLanes - 1);
    for (size_t i = 0; i < m; ++i) x[i] = C(a[at + i]);
    for (size_t i = m; i < padded; ++i) x[i] = 0;
    const Eigen::Index len(padded);
    PacketArrOf<C> xs(x, len), ys(y, len), es(e, len), ts(t, len);
    vec(xs, ys, es, ts);
    // Two passes so the common one vectorises: convert everything, then redo the few inputs
    // outside [lo, hi] with libm (x holds the inputs, since out may alias a).
    T* o = out + at;
    for (size_t i = 0; i < m; ++i) o[i] = T(y[i]);
    // The range test is itself a vector loop (a branch per element costs as much as the math).
    const C clo = C(lo), chi = C(hi);
    int outside = 0;
    for (size_t i = 0; i < m; ++i) outside |= int(x[i] < clo) | int(x[i] > chi) | int(x[i] != x[i]);
    if (outside) {
      for (size_t i = 0; i < m; ++i) {
        if (!(x[i] >= clo && x[i] <= chi)) o[i] = scalar(T(x[i]));
      }
    }
  }
}

// The packet map computing in double (within rounding of libm for float results).
template <class T, class V, class S>
inline void mapPacket(const T* a, T* out, size_t n, V vec, S scalar, T lo, T hi) {
  mapPacketAs<double>(a, out, n, vec, scalar, lo, hi);
}

// tanh: with e = exp(−2|x|), sign(x)(1 − e)/(1 + e) for |x| ≥ 0.625 (no cancellation there),
// below that Lambert's continued fraction cut after 7 levels as one rational function of t = x²
// (Eigen's own double tanh is scalar, its float one several ulps off). Within an ulp of libm in
// double, and in float (16 lanes per AVX-512 register instead of 8: measured within 1 ulp of the
// correctly rounded value over [−12, 12]); |x| is clamped where tanh rounds to ±1.
template <class C>
inline void tanhPacket(PacketArrOf<C>& x, PacketArrOf<C>& y, PacketArrOf<C>& e, PacketArrOf<C>& s) {
  e = (C(-2) * x.abs().min(C(sizeof(C) == 4 ? 10 : 20))).exp();
  // Both branches into their own buffers, then the choice: plain loops (Eigen 3.4's select() has
  // no packet path), one pass each, because GCC will not turn a ternary whose arms divide into a
  // vector blend (a division may trap), and left the single loop scalar: 3× slower.
  const C* X = x.data();
  const C* E = e.data();
  C* S = s.data();
  C* Y = y.data();
  const Eigen::Index n = x.size();
  for (Eigen::Index i = 0; i < n; ++i) {
    const C xi = X[i], t = xi * xi;
    S[i] = xi + (xi * t * (C(-675675) + t * (C(-45045) + t * (C(-594) - t)))) /
                    (C(2027025) + t * (C(945945) + t * (C(51975) + t * (C(630) + t))));
  }
  for (Eigen::Index i = 0; i < n; ++i) Y[i] = std::copysign((C(1) - E[i]) / (C(1) + E[i]), X[i]);
  for (Eigen::Index i = 0; i < n; ++i) Y[i] = std::fabs(X[i]) < C(0.625) ? S[i] : Y[i];
}

// The logistic function as the scalar kernel computes it: r = 1/(1 + e), e = exp(−|x|), and e·r
// for x < 0 (accurate for tiny results).
inline void sigmoidPacket(PacketArr& x, PacketArr& y, PacketArr& e, PacketArr& t) {
  e = (-x.abs()).exp();
  t = 1.0 / (1.0 + e);
  const double* X = x.data();
  const double* E = e.data();
  const double* R = t.data();
  double* Y = y.data();
  // The product for every element first, then the choice (see tanhPacket: a blend, not a branch).
  const Eigen::Index n = x.size();
  for (Eigen::Index i = 0; i < n; ++i) Y[i] = E[i] * R[i];
  for (Eigen::Index i = 0; i < n; ++i) Y[i] = X[i] >= 0.0 ? R[i] : Y[i];
}

// softplus(x) = max(x, 0) + log1p(exp(−|x|)); Eigen's log1p keeps tiny terms accurate.
inline void softplusPacket(PacketArr& x, PacketArr& y, PacketArr& e, PacketArr&) {
  e = (-x.abs()).exp().log1p();
  y = x.max(0.0) + e;
}

template <class T>
void unary(UnaryOp op, const T* a, T* out, size_t n) {
  constexpr T inf = std::numeric_limits<T>::infinity();
  // Below this, exp(−|x|) (sigmoid's) is denormal in double, where the packet exp flushes it.
  constexpr T sigmoidLo = T(-708);
  // Where the packet exp in double is exact to rounding: all of float's range, double's normal one.
  constexpr T expLo = sizeof(T) == 4 ? -std::numeric_limits<T>::max() : T(-708);
  constexpr T expHi = sizeof(T) == 4 ? std::numeric_limits<T>::max() : T(709);
  const T zero(0), one(1);
  switch (op) {
    case UnaryOp::Neg: return mapUnary(a, out, n, [](T x) { return -x; });
    case UnaryOp::Exp:
      // Eigen's double exp clamps its argument (to ±709.78), so results near overflow or in the
      // denormal range go to libm.
      return mapPacket(a, out, n, [](PacketArr& x, PacketArr& y, PacketArr&, PacketArr&) { y = x.exp(); },
                       [](T x) { return std::exp(x); }, expLo, expHi);
    case UnaryOp::Log:
      // Normal positive numbers on the packet path; 0, negatives, denormals, ∞ and NaN to libm.
      return mapPacket(a, out, n, [](PacketArr& x, PacketArr& y, PacketArr&, PacketArr&) { y = x.log(); }, [](T x) { return std::log(x); },
                       std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    case UnaryOp::Sqrt: return mapUnary(a, out, n, [](T x) { return std::sqrt(x); });
    case UnaryOp::Abs: return mapUnary(a, out, n, [](T x) { return std::fabs(x); });
    case UnaryOp::Tanh:
      return mapPacketAs<T>(a, out, n, tanhPacket<T>, [](T x) { return std::tanh(x); }, -inf, inf);
    case UnaryOp::Sigmoid:
      // exp of a non-positive argument never overflows; e/(1+e) keeps tiny results accurate.
      return mapPacket(a, out, n, sigmoidPacket, [one](T x) {
        T e = std::exp(-std::fabs(x)), r = one / (one + e);
        return x >= 0 ? r : e * r;
      }, sigmoidLo, inf);
    case UnaryOp::Relu:  // NaN propagates, as in PyTorch
      return mapUnary(a, out, n, [zero](T x) { return x < zero ? zero : x; });
    case UnaryOp::Softplus:
      // exp(−|x|) is denormal in double below −708 (the packet exp flushes it): libm there.
      return mapPacket(a, out, n, softplusPacket, [zero](T x) {
        return (x > zero ? x : zero) + std::log1p(std::exp(-std::fabs(x)));
      }, sigmoidLo, -sigmoidLo);
    case UnaryOp::Square: return mapUnary(a, out, n, [](T x) { return x * x; });
    case UnaryOp::Sign:  // ±0 and NaN map to themselves
      return mapUnary(a, out, n, [one](T x) { return x > 0 ? one : (x < 0 ? -one : x); });
    case UnaryOp::Sin: return mapUnary(a, out, n, [](T x) { return std::sin(x); });
    case UnaryOp::Cos: return mapUnary(a, out, n, [](T x) { return std::cos(x); });
    case UnaryOp::Reciprocal: return mapUnary(a, out, n, [one](T x) { return one / x; });
    case UnaryOp::Step:
      return mapUnary(a, out, n, [zero, one](T x) { return x > zero ? one : zero; });
    case UnaryOp::Log1p: return mapUnary(a, out, n, [](T x) { return std::log1p(x); });
    case UnaryOp::Expm1: return mapUnary(a, out, n, [](T x) { return std::expm1(x); });
  }
}

// Loops over `shape` (already simplified, rank >= 1); the innermost dimension gets dedicated
// loops for the common contiguous / broadcast-scalar stride pairs so they vectorise.
template <class T, class F>
void stridedLoop(const T* a, const int64_t* sa, const T* b, const int64_t* sb, T* out,
                 const int64_t* shape, int rank, F f) {
  const int64_t inner = shape[rank - 1], ia = sa[rank - 1], ib = sb[rank - 1];
  if (inner == 0) return;  // no output, however many outer rows
  int64_t outerCount = 1;
  for (int d = 0; d < rank - 1; ++d) outerCount *= shape[d];
  int64_t idx[kMaxRank] = {0};
  int64_t offA = 0, offB = 0;
  for (int64_t o = 0; o < outerCount; ++o) {
    const T* pa = a + offA;
    const T* pb = b + offB;
    T* po = out + o * inner;
    if (ia == 1 && ib == 1) {
      for (int64_t i = 0; i < inner; ++i) po[i] = f(pa[i], pb[i]);
    } else if (ia == 1 && ib == 0) {
      const T vb = *pb;
      for (int64_t i = 0; i < inner; ++i) po[i] = f(pa[i], vb);
    } else if (ia == 0 && ib == 1) {
      const T va = *pa;
      for (int64_t i = 0; i < inner; ++i) po[i] = f(va, pb[i]);
    } else {
      for (int64_t i = 0; i < inner; ++i) po[i] = f(pa[i * ia], pb[i * ib]);
    }
    for (int d = rank - 2; d >= 0; --d) {  // odometer step over the outer dimensions
      offA += sa[d];
      offB += sb[d];
      if (++idx[d] < shape[d]) break;
      offA -= sa[d] * shape[d];
      offB -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
}

// Drops size-1 dimensions and merges neighbours that both operands walk contiguously, so
// same-shape contiguous and scalar operands end up as one flat dimension. Returns the new rank.
inline int simplify(const int64_t* shape, const int64_t* as, const int64_t* bs, int rank,
                    int64_t* sh, int64_t* sa, int64_t* sb) {
  int r = 0;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 1) continue;
    if (r > 0 && sa[r - 1] == as[d] * shape[d] && sb[r - 1] == bs[d] * shape[d]) {
      sh[r - 1] *= shape[d];
      sa[r - 1] = as[d];
      sb[r - 1] = bs[d];
    } else {
      sh[r] = shape[d];
      sa[r] = as[d];
      sb[r] = bs[d];
      ++r;
    }
  }
  if (r == 0) {  // every dimension has size 1: a single element
    sh[0] = 1;
    sa[0] = sb[0] = 0;
    r = 1;
  }
  return r;
}

template <class T, class F>
void binaryWith(const T* a, const int64_t* as, const T* b, const int64_t* bs, T* out,
                const int64_t* shape, int rank, F f) {
  for (int d = 0; d < rank; ++d)
    if (shape[d] == 0) return;
  int64_t sh[kMaxRank], sa[kMaxRank], sb[kMaxRank];
  int r = simplify(shape, as, bs, rank, sh, sa, sb);
  stridedLoop(a, sa, b, sb, out, sh, r, f);
}

template <class T>
void binary(BinaryOp op, const T* a, const int64_t* as, const T* b, const int64_t* bs, T* out,
            const int64_t* shape, int rank) {
  auto run = [&](auto f) { binaryWith(a, as, b, bs, out, shape, rank, f); };
  switch (op) {
    case BinaryOp::Add: return run([](T x, T y) { return x + y; });
    case BinaryOp::Sub: return run([](T x, T y) { return x - y; });
    case BinaryOp::Mul: return run([](T x, T y) { return x * y; });
    case BinaryOp::Div: return run([](T x, T y) { return x / y; });
    case BinaryOp::Pow: return run([](T x, T y) { return std::pow(x, y); });
    // Both comparisons fail only when an operand is NaN; x + y then yields NaN (PyTorch).
    case BinaryOp::Maximum: return run([](T x, T y) { return x > y ? x : (y >= x ? y : x + y); });
    case BinaryOp::Minimum: return run([](T x, T y) { return x < y ? x : (y <= x ? y : x + y); });
    case BinaryOp::Gt: return run([](T x, T y) { return T(x > y); });
    case BinaryOp::Lt: return run([](T x, T y) { return T(x < y); });
    case BinaryOp::Ge: return run([](T x, T y) { return T(x >= y); });
    case BinaryOp::Le: return run([](T x, T y) { return T(x <= y); });
    case BinaryOp::Eq: return run([](T x, T y) { return T(x == y); });
    // Fused backward rules: one pass and one buffer instead of three, in double and rounded
    // once, as the JavaScript path computes them.
    case BinaryOp::TanhGrad:
      return run([](T g, T y) { return T(double(g) * (1.0 - double(y) * double(y))); });
    case BinaryOp::SigmoidGrad:
      return run([](T g, T y) { return T(double(g) * (double(y) * (1.0 - double(y)))); });
    case BinaryOp::ReluGrad: return run([](T g, T x) { return x > T(0) ? g : T(0); });
  }
}

}  // namespace
}  // namespace MG_ISA
}  // namespace mg
