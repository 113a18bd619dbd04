#include "solve.h"

#include <limits>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/LU>
#include <Eigen/QR>

namespace mg {
namespace {

template <class T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// PartialPivLU never fails by itself; a pivot that is tiny relative to the largest one means
// the matrix is singular to working precision.
template <class T>
bool luSingular(const Eigen::PartialPivLU<Mat<T>>& lu, Eigen::Index n) {
  const auto pivots = lu.matrixLU().diagonal().cwiseAbs();
  const T largest = pivots.maxCoeff();
  return !(pivots.minCoeff() > T(n) * std::numeric_limits<T>::epsilon() * largest);
}

}  // namespace

template <class T>
int solveDense(SolveMethod method, const T* a, const T* b, T* out, size_t n, size_t nrhs) {
  const auto N = Eigen::Index(n), R = Eigen::Index(nrhs);
  if (n == 0) return 0;
  Eigen::Map<const RowMat<T>> A(a, N, N), B(b, N, R);
  Mat<T> x;  // solved into a temporary so out may alias b
  switch (method) {
    case SolveMethod::Lu: {
      Eigen::PartialPivLU<Mat<T>> lu(A);
      if (luSingular(lu, N)) return 1;
      x = lu.solve(B);
      break;
    }
    case SolveMethod::Cholesky: {
      Eigen::LLT<Mat<T>> llt(A);
      if (llt.info() != Eigen::Success) return 1;
      x = llt.solve(B);
      break;
    }
    case SolveMethod::Qr: {
      Eigen::ColPivHouseholderQR<Mat<T>> qr(A);
      if (qr.rank() < N) return 1;
      x = qr.solve(B);
      break;
    }
    default:
      return 1;
  }
  if (!x.allFinite()) return 1;
  Eigen::Map<RowMat<T>>(out, N, R) = x;
  return 0;
}

template int solveDense<float>(SolveMethod, const float*, const float*, float*, size_t, size_t);
template int solveDense<double>(SolveMethod, const double*, const double*, double*, size_t,
                                size_t);

}  // namespace mg
