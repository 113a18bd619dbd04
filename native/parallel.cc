#include "parallel.h"

#include <exception>
#include <thread>
#include <vector>

namespace mg {

void runParallel(int parts, void (*fn)(void* ctx, int part), void* ctx) {
  if (parts <= 1) {
    fn(ctx, 0);
    return;
  }
  std::vector<std::exception_ptr> errors(parts);
  auto run = [&](int part) {
    try {
      fn(ctx, part);
    } catch (...) {
      errors[part] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(parts - 1);
  for (int p = 1; p < parts; ++p) {
    try {
      threads.emplace_back(run, p);
    } catch (...) {
      run(p);  // could not start a thread: do the part here
    }
  }
  run(0);
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace mg
