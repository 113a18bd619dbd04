#include "dispatch.h"

#include <cstdlib>
#include <cstring>

#include <Eigen/Core>  // for the version macros only

namespace mg {
namespace {

bool cpuHas(const char* isa) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();  // may run before libgcc's constructor when loaded early
  // libgcc's checks include the OS's XSAVE support for the wider registers.
  if (std::strcmp(isa, "avx2") == 0)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (std::strcmp(isa, "avx512") == 0)
    return cpuHas("avx2") && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
#endif
  return std::strcmp(isa, "baseline") == 0;
}

const Kernels* variant(const char* isa) {
#ifdef MG_HAVE_AVX512
  if (std::strcmp(isa, "avx512") == 0) return &kernels_avx512;
#endif
#ifdef MG_HAVE_AVX2
  if (std::strcmp(isa, "avx2") == 0) return &kernels_avx2;
#endif
  if (std::strcmp(isa, "baseline") == 0) return &kernels_baseline;
  return nullptr;
}

const Kernels* choose() {
  // METAGRAD_ISA forces a variant (for tests and benchmarks) when the CPU can run it.
  if (const char* forced = std::getenv("METAGRAD_ISA")) {
    const Kernels* k = variant(forced);
    if (k && cpuHas(forced)) return k;
  }
  for (const char* isa : {"avx512", "avx2"}) {
    const Kernels* k = variant(isa);
    if (k && cpuHas(isa)) return k;
  }
  return &kernels_baseline;
}

}  // namespace

const Kernels& kernels() {
  static const Kernels* const chosen = choose();
  return *chosen;
}

std::vector<std::string> compiledIsas() {
  std::vector<std::string> out;
  for (const char* isa : {"baseline", "avx2", "avx512"})
    if (variant(isa)) out.push_back(isa);
  return out;
}

#define MG_STR_(x) #x
#define MG_STR(x) MG_STR_(x)
const char* eigenVersion() {
  return MG_STR(EIGEN_WORLD_VERSION) "." MG_STR(EIGEN_MAJOR_VERSION) "." MG_STR(EIGEN_MINOR_VERSION);
}

}  // namespace mg
