// Batched GEMM on Eigen. Included only by native/variant.cc, once per ISA variant, so each
// variant runs Eigen's GEMM compiled for its own ISA. Large products are split across
// threads by batch items, or else by output rows/columns, each part an independent Eigen GEMM.
#pragma once
#include <algorithm>
#include <cstddef>

#include <Eigen/Core>

#include "../kernels.h"
#include "../parallel.h"

namespace mg {
namespace MG_ISA {
namespace {

using Eigen::Index;
template <class T>
using RowMajorMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ColMajorMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

// Below this many flops (~0.3 ms of work) a product stays on one thread: starting threads
// and packing the shared operand twice cost more than they save (measured around 224^3).
constexpr double kParallelFlops = double(1 << 25);

// C[r0.., c0..] = op(A)[r0.., :] · op(B)[:, c0..] for one batch item. A transposed operand is
// the same memory read as column-major, so no copy is made.
template <class T, class LhsMat, class RhsMat>
void gemmTile(const T* a, const T* b, T* c, Index m, Index k, Index n, Index r0, Index nr,
              Index c0, Index nc) {
  Eigen::Map<const LhsMat> A(a, m, k);
  Eigen::Map<const RhsMat> B(b, k, n);
  Eigen::Map<RowMajorMat<T>> C(c, m, n);
  if (nr == m && nc == n)  // whole product: plain maps run a few % faster than blocks of them
    C.noalias() = A * B;
  else
    C.block(r0, c0, nr, nc).noalias() = A.middleRows(r0, nr) * B.middleCols(c0, nc);
}

template <class T>
using GemmTile = void (*)(const T*, const T*, T*, Index, Index, Index, Index, Index, Index, Index);

template <class T>
GemmTile<T> pickTile(bool transA, bool transB) {
  using R = RowMajorMat<T>;
  using C = ColMajorMat<T>;
  if (transA) return transB ? &gemmTile<T, C, C> : &gemmTile<T, C, R>;
  return transB ? &gemmTile<T, R, C> : &gemmTile<T, R, R>;
}

template <class T>
struct MatmulPlan {
  const MatmulArgs<T>* args;
  GemmTile<T> tile;
  int parts;
  enum { kBatch, kRows, kCols } split;
};

// Start of part p of [0, total) cut into `parts`, aligned to `align` (except at the ends).
inline size_t cut(size_t total, int parts, int p, size_t align) {
  if (p >= parts) return total;
  size_t at = total * size_t(p) / size_t(parts);
  return std::min(total, (at + align / 2) / align * align);
}

template <class T>
void runMatmulPart(void* ctx, int part) {
  const auto& plan = *static_cast<const MatmulPlan<T>*>(ctx);
  const auto& g = *plan.args;
  const Index m = Index(g.m), k = Index(g.k), n = Index(g.n);
  size_t b0 = 0, b1 = g.batch;
  Index r0 = 0, r1 = m, c0 = 0, c1 = n;
  if (plan.split == MatmulPlan<T>::kBatch) {
    b0 = cut(g.batch, plan.parts, part, 1);
    b1 = cut(g.batch, plan.parts, part + 1, 1);
  } else if (plan.split == MatmulPlan<T>::kRows) {
    r0 = Index(cut(g.m, plan.parts, part, 8));
    r1 = Index(cut(g.m, plan.parts, part + 1, 8));
  } else {
    c0 = Index(cut(g.n, plan.parts, part, 16));
    c1 = Index(cut(g.n, plan.parts, part + 1, 16));
  }
  if (r1 <= r0 || c1 <= c0) return;
  for (size_t bi = b0; bi < b1; ++bi) {
    plan.tile(g.a + bi * g.aBatchStride, g.b + bi * g.bBatchStride, g.out + bi * g.m * g.n, m, k,
              n, r0, r1 - r0, c0, c1 - c0);
  }
}

template <class T>
void matmul(const MatmulArgs<T>& g) {
  if (g.batch == 0 || g.m == 0 || g.n == 0) return;
  if (g.k == 0) {  // empty sum
    for (size_t i = 0, total = g.batch * g.m * g.n; i < total; ++i) g.out[i] = T(0);
    return;
  }
  MatmulPlan<T> plan{&g, pickTile<T>(g.transA, g.transB), 1, MatmulPlan<T>::kBatch};
  const double flops = 2.0 * double(g.batch) * double(g.m) * double(g.n) * double(g.k);
  if (g.threads > 1 && flops >= kParallelFlops) {
    // Enough work for every thread to get >= kParallelFlops / 2.
    plan.parts = int(std::min<double>(g.threads, flops / (kParallelFlops / 2)));
    // Whole batch items per thread when that balances well, else slices of every item.
    const size_t parts = size_t(plan.parts);
    if (g.batch % parts == 0 || g.batch >= 4 * parts) {
      plan.split = MatmulPlan<T>::kBatch;
    } else {
      plan.split = g.m >= g.n ? MatmulPlan<T>::kRows : MatmulPlan<T>::kCols;
      const size_t extent = g.m >= g.n ? g.m : g.n;
      plan.parts = int(std::min<size_t>(size_t(plan.parts), std::max<size_t>(1, extent / 16)));
    }
  }
  runParallel(plan.parts, &runMatmulPart<T>, &plan);
}

}  // namespace
}  // namespace MG_ISA
}  // namespace mg
