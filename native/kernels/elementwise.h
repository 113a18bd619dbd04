// Unary and broadcasting binary elementwise kernels. Included only by native/variant.cc, once
// per ISA variant. Transcendentals use libm (scalar, correctly handling inf/NaN/denormals);
// the simple ops are plain loops that the compiler vectorises for the variant's ISA.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "../kernels.h"

namespace mg {
namespace MG_ISA {
namespace {

template <class T, class F>
inline void mapUnary(const T* a, T* out, size_t n, F f) {
  for (size_t i = 0; i < n; ++i) out[i] = f(a[i]);
}

template <class T>
void unary(UnaryOp op, const T* a, T* out, size_t n) {
  const T zero(0), one(1);
  switch (op) {
    case UnaryOp::Neg: return mapUnary(a, out, n, [](T x) { return -x; });
    case UnaryOp::Exp: return mapUnary(a, out, n, [](T x) { return std::exp(x); });
    case UnaryOp::Log: return mapUnary(a, out, n, [](T x) { return std::log(x); });
    case UnaryOp::Sqrt: return mapUnary(a, out, n, [](T x) { return std::sqrt(x); });
    case UnaryOp::Abs: return mapUnary(a, out, n, [](T x) { return std::fabs(x); });
    case UnaryOp::Tanh: return mapUnary(a, out, n, [](T x) { return std::tanh(x); });
    case UnaryOp::Sigmoid:
      // exp of a non-positive argument never overflows; e/(1+e) keeps tiny results accurate.
      return mapUnary(a, out, n, [one](T x) {
        T e = std::exp(-std::fabs(x)), r = one / (one + e);
        return x >= 0 ? r : e * r;
      });
    case UnaryOp::Relu:  // NaN propagates, as in PyTorch
      return mapUnary(a, out, n, [zero](T x) { return x < zero ? zero : x; });
    case UnaryOp::Softplus:
      return mapUnary(a, out, n, [zero](T x) {
        return (x > zero ? x : zero) + std::log1p(std::exp(-std::fabs(x)));
      });
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
  }
}

}  // namespace
}  // namespace MG_ISA
}  // namespace mg
