// Reference float32 GEMM throughput of Eigen built for this exact CPU, to compare the addon
// against. Not part of the build; bench/matmul.ts compiles and runs it:
//   g++ -O3 -march=native -fopenmp -I/usr/include/eigen3 bench/native-gemm.cc -o /tmp/native-gemm
//   /tmp/native-gemm [threads] [repeats] [n...]
// For each n it prints the median and the best GFLOP/s over `repeats` timed repeats, each
// averaging enough products to last >= 20 ms (the same protocol as bench/stats.ts).
#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

static double seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static void run(int n, int repeats) {
  Mat a = Mat::Random(n, n), b = Mat::Random(n, n), c(n, n);
  // Warm up (packing buffers, page faults, thread start) for ~100 ms and calibrate.
  int calls = 0;
  double t0 = seconds();
  do {
    c.noalias() = a * b;
    ++calls;
  } while (seconds() - t0 < 0.1);
  const double perCall = (seconds() - t0) / calls;
  const int inner = std::max(1, int(0.02 / perCall + 0.999));
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const double s = seconds();
    for (int i = 0; i < inner; ++i) c.noalias() = a * b;
    times.push_back((seconds() - s) / inner);
  }
  std::sort(times.begin(), times.end());
  const size_t m = times.size() / 2;
  const double med = times.size() % 2 ? times[m] : 0.5 * (times[m - 1] + times[m]);
  const double flops = 2.0 * n * n * n;
  // c(0,0) printed so the products cannot be optimised away.
  std::printf("n=%d median=%.2f best=%.2f GFLOP/s median_ms=%.5f (check %.3f)\n", n, flops / med * 1e-9,
              flops / times[0] * 1e-9, med * 1e3, double(c(0, 0)));
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 7;
  Eigen::setNbThreads(threads);
  std::printf("eigen %d.%d.%d threads=%d\n", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION,
              EIGEN_MINOR_VERSION, Eigen::nbThreads());
  std::vector<int> sizes;
  for (int i = 3; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty()) sizes = {128, 512, 1024};
  for (int n : sizes) run(n, repeats);
}
