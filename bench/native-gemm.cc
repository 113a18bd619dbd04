// Reference float32 GEMM throughput of Eigen built for this exact CPU, to compare the addon
// against. Not part of the build:
//   g++ -O3 -march=native -fopenmp -I/usr/include/eigen3 bench/native-gemm.cc -o /tmp/native-gemm
//   /tmp/native-gemm [threads]
#include <Eigen/Core>
#include <chrono>
#include <cstdio>
#include <cstdlib>

using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

static double gflops(int n) {
  Mat a = Mat::Random(n, n), b = Mat::Random(n, n), c(n, n);
  c.noalias() = a * b;  // warm up (packing buffers, page faults)
  // Repeat until ~0.5 s has passed, keep the best single run.
  double best = 1e30, total = 0;
  while (total < 0.5) {
    auto t0 = std::chrono::steady_clock::now();
    c.noalias() = a * b;
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = dt < best ? dt : best;
    total += dt;
  }
  return 2.0 * n * n * n / best * 1e-9;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  Eigen::setNbThreads(threads);
  std::printf("eigen %d.%d.%d threads=%d\n", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION,
              EIGEN_MINOR_VERSION, Eigen::nbThreads());
  for (int n : {128, 512, 1024}) std::printf("n=%d %.1f GFLOP/s\n", n, gflops(n));
}
