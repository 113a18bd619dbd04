// The table of hot kernels that each ISA variant (native/variant.cc) provides, and the variants
// compiled into this binary. Kernels take raw pointers and trust their arguments: the binding
// has already checked types, sizes and bounds.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ops.h"

namespace mg {

constexpr int kMaxRank = 8;

template <class T>
struct MatmulArgs {
  const T* a;
  const T* b;
  T* out;
  size_t batch, m, k, n;
  bool transA, transB;
  size_t aBatchStride, bBatchStride;  // elements; 0 broadcasts the operand over the batch
  int threads;                        // upper bound on threads this call may use
};

template <class T>
struct TypedKernels {
  void (*matmul)(const MatmulArgs<T>& args);
  void (*unary)(UnaryOp op, const T* a, T* out, size_t n);
  // Element strides may be 0 (broadcast) or negative; shape has `rank` <= kMaxRank entries.
  void (*binary)(BinaryOp op, const T* a, const int64_t* aStrides, const T* b,
                 const int64_t* bStrides, T* out, const int64_t* shape, int rank);
  void (*reduce)(ReduceOp op, const T* a, T* out, size_t outer, size_t len, size_t inner);
  // op is Max or Min, len >= 1.
  void (*argReduce)(ReduceOp op, const T* a, T* out, int32_t* indices, size_t outer, size_t len,
                    size_t inner);
  void (*softmax)(const T* a, T* out, size_t rows, size_t cols, bool log);
};

struct Kernels {
  const char* isa;  // "baseline" | "avx2" | "avx512"
  TypedKernels<float> f32;
  TypedKernels<double> f64;
};

// Defined by the variants the build compiled (MG_HAVE_AVX2 / MG_HAVE_AVX512 say which).
extern const Kernels kernels_baseline;
#ifdef MG_HAVE_AVX2
extern const Kernels kernels_avx2;
#endif
#ifdef MG_HAVE_AVX512
extern const Kernels kernels_avx512;
#endif

}  // namespace mg
