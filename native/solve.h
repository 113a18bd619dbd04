// Dense linear solves A X = B (A [n, n], B and X [n, nrhs], all row-major).
#pragma once
#include <cstddef>

#include "ops.h"

namespace mg {

// Writes X into out (which may alias b) and returns 0, or returns 1 when A is singular (LU,
// QR: numerically rank-deficient) or not positive definite (Cholesky), or X is not finite.
template <class T>
int solveDense(SolveMethod method, const T* a, const T* b, T* out, size_t n, size_t nrhs);

}  // namespace mg
