// A minimal fork-join used by the big kernels. It lives in a baseline-compiled file so the ISA
// variants instantiate no std::thread / std::vector code of their own (see variant.cc).
#pragma once

namespace mg {

// Calls fn(ctx, part) for part in [0, parts): part 0 on the calling thread, the others on
// short-lived threads. Rethrows the first exception a part threw, after all parts finished.
void runParallel(int parts, void (*fn)(void* ctx, int part), void* ctx);

}  // namespace mg
