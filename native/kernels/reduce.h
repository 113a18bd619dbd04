// Reductions over the middle axis of [outer, len, inner], arg reductions and row softmax.
// Included only by native/variant.cc, once per ISA variant. Float sums and products accumulate
// in double; Max/Min propagate NaN and arg reductions return the first NaN's index (PyTorch).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "../kernels.h"

namespace mg {
namespace MG_ISA {
namespace {

template <class T> struct Acc { using type = T; };
template <> struct Acc<float> { using type = double; };

constexpr size_t kLanes = 8;   // independent accumulators, so the compiler can vectorise
constexpr size_t kChunk = 256; // inner positions reduced together when inner > 1

struct SumOp {
  template <class A> static A init() { return A(0); }
  template <class A, class V> static A step(A acc, V v) { return acc + A(v); }
};
struct ProdOp {
  template <class A> static A init() { return A(1); }
  template <class A, class V> static A step(A acc, V v) { return acc * A(v); }
};
struct MaxOp {  // once acc is NaN neither test passes, so NaN sticks
  template <class A, class V> static A step(A acc, V v) { return (v > acc || v != v) ? A(v) : acc; }
};
struct MinOp {
  template <class A, class V> static A step(A acc, V v) { return (v < acc || v != v) ? A(v) : acc; }
};

// Reduces one contiguous row; `first` seeds every lane (identity, or row[0] for Max/Min).
template <class Op, class A, class T>
A reduceRow(const T* row, size_t len, A first) {
  A lanes[kLanes];
  for (size_t j = 0; j < kLanes; ++j) lanes[j] = first;
  size_t i = 0;
  for (; i + kLanes <= len; i += kLanes)
    for (size_t j = 0; j < kLanes; ++j) lanes[j] = Op::step(lanes[j], row[i + j]);
  for (; i < len; ++i) lanes[0] = Op::step(lanes[0], row[i]);
  A acc = lanes[0];
  for (size_t j = 1; j < kLanes; ++j) acc = Op::step(acc, lanes[j]);
  return acc;
}

template <class Op, class A, class T>
void reduceWith(const T* a, T* out, size_t outer, size_t len, size_t inner, bool seedFromFirst,
                A identity) {
  if (outer == 0 || inner == 0) return;  // no output, however large the other sizes
  for (size_t o = 0; o < outer; ++o) {
    const T* base = a + o * len * inner;
    if (inner == 1) {
      A first = seedFromFirst ? A(base[0]) : identity;
      out[o] = T(reduceRow<Op>(base, len, first));
      continue;
    }
    for (size_t i0 = 0; i0 < inner; i0 += kChunk) {
      const size_t w = inner - i0 < kChunk ? inner - i0 : kChunk;
      A acc[kChunk];
      for (size_t i = 0; i < w; ++i) acc[i] = seedFromFirst ? A(base[i0 + i]) : identity;
      for (size_t l = 0; l < len; ++l) {
        const T* row = base + l * inner + i0;
        for (size_t i = 0; i < w; ++i) acc[i] = Op::step(acc[i], row[i]);
      }
      for (size_t i = 0; i < w; ++i) out[o * inner + i0 + i] = T(acc[i]);
    }
  }
}

template <class T>
void reduce(ReduceOp op, const T* a, T* out, size_t outer, size_t len, size_t inner) {
  using A = typename Acc<T>::type;
  if (len == 0 && (op == ReduceOp::Max || op == ReduceOp::Min)) {  // no identity: NaN
    for (size_t i = 0; i < outer * inner; ++i) out[i] = std::numeric_limits<T>::quiet_NaN();
    return;
  }
  switch (op) {
    case ReduceOp::Sum: return reduceWith<SumOp, A>(a, out, outer, len, inner, false, A(0));
    case ReduceOp::Prod: return reduceWith<ProdOp, A>(a, out, outer, len, inner, false, A(1));
    case ReduceOp::Max: return reduceWith<MaxOp, T>(a, out, outer, len, inner, true, T(0));
    case ReduceOp::Min: return reduceWith<MinOp, T>(a, out, outer, len, inner, true, T(0));
  }
}

template <bool IsMax, class T>
void argReduceWith(const T* a, T* out, int32_t* indices, size_t outer, size_t len, size_t inner) {
  for (size_t o = 0; o < outer; ++o) {
    const T* base = a + o * len * inner;
    for (size_t i0 = 0; i0 < inner; i0 += kChunk) {
      const size_t w = inner - i0 < kChunk ? inner - i0 : kChunk;
      T best[kChunk];
      int32_t at[kChunk];
      for (size_t i = 0; i < w; ++i) {
        best[i] = base[i0 + i];
        at[i] = 0;
      }
      for (size_t l = 1; l < len; ++l) {
        const T* row = base + l * inner + i0;
        for (size_t i = 0; i < w; ++i) {
          const T v = row[i], b = best[i];
          // Strict comparison keeps the first occurrence; a NaN best is never replaced.
          if (b == b && ((IsMax ? v > b : v < b) || v != v)) {
            best[i] = v;
            at[i] = int32_t(l);
          }
        }
      }
      for (size_t i = 0; i < w; ++i) {
        out[o * inner + i0 + i] = best[i];
        indices[o * inner + i0 + i] = at[i];
      }
    }
  }
}

template <class T>
void argReduce(ReduceOp op, const T* a, T* out, int32_t* indices, size_t outer, size_t len,
               size_t inner) {
  if (op == ReduceOp::Max) return argReduceWith<true>(a, out, indices, outer, len, inner);
  argReduceWith<false>(a, out, indices, outer, len, inner);
}

template <class T>
void softmax(const T* a, T* out, size_t rows, size_t cols, bool log) {
  using A = typename Acc<T>::type;
  if (cols == 0) return;
  for (size_t r = 0; r < rows; ++r) {
    const T* x = a + r * cols;
    T* y = out + r * cols;  // may alias x: each element is read before it is written
    const T mx = reduceRow<MaxOp>(x, cols, x[0]);
    if (log) {
      A sum(0);
      for (size_t j = 0; j < cols; ++j) sum += A(std::exp(x[j] - mx));
      const T lse = T(std::log(sum));
      for (size_t j = 0; j < cols; ++j) y[j] = (x[j] - mx) - lse;
    } else {
      A sum(0);
      for (size_t j = 0; j < cols; ++j) {
        y[j] = std::exp(x[j] - mx);
        sum += A(y[j]);
      }
      const A inv = A(1) / sum;
      for (size_t j = 0; j < cols; ++j) y[j] = T(A(y[j]) * inv);
    }
  }
}

}  // namespace
}  // namespace MG_ISA
}  // namespace mg
