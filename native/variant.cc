// One ISA variant of the hot kernels. The build compiles this file once per variant with
// -DMG_ISA=<baseline|avx2|avx512> and that variant's -m flags; native/dispatch.cc picks one
// table at load time.
//
// Everything here must stay private to the variant: a template or inline function with the
// same mangled name in two variants would be merged by the linker, and the copy it keeps may
// use instructions the CPU lacks (or be slower). So the kernels live in an anonymous namespace,
// threads come from baseline code (parallel.h), and Eigen itself is renamed per variant below.
// Check with `nm -C --defined-only <variant object> | grep -v ' [tTrbdn] '`: only
// Eigen_<variant>:: symbols and this file's table may be weak or global.
#ifndef MG_ISA
#error "compile with -DMG_ISA=<variant name>"
#endif

#define MG_CAT_(a, b) a##b
#define MG_CAT(a, b) MG_CAT_(a, b)

// Every Eigen:: symbol of this translation unit becomes Eigen_<variant>:: (headers are found
// by <Eigen/...> paths, which are not macro-expanded).
#define Eigen MG_CAT(Eigen_, MG_ISA)
#include <Eigen/Core>

#include "kernels.h"
#include "kernels/elementwise.h"
#include "kernels/matmul.h"
#include "kernels/reduce.h"

namespace mg {

namespace MG_ISA {
namespace {
template <class T>
constexpr TypedKernels<T> typedKernels() {
  return {&matmul<T>, &unary<T>, &binary<T>, &reduce<T>, &argReduce<T>, &softmax<T>};
}
}  // namespace
}  // namespace MG_ISA

#define MG_STR_(x) #x
#define MG_STR(x) MG_STR_(x)

extern const Kernels MG_CAT(kernels_, MG_ISA) = {
    MG_STR(MG_ISA),
    MG_ISA::typedKernels<float>(),
    MG_ISA::typedKernels<double>(),
};

}  // namespace mg
