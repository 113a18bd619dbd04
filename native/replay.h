// Replays a recorded kernel list (mg.jit): a program of instructions over numbered buffers,
// each either bound per call (the caller's typed arrays: inputs, captured tensors, outputs) or
// owned by the program (the arena of intermediates and constants). Instruction codes and field
// layouts are shared with ts/tensor/trace.ts; test/op-tables.test.ts checks that they agree.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mg {

// Every instruction is [code, length (all words, code included), fields...]; a buffer
// reference is two fields, (buffer, element offset).
enum class Instr : int32_t {
  Nop = 0,
  Unary = 1,          // uop, a, out, n
  Binary = 2,         // bop, a, b, out, rank, shape[rank], aStrides[rank], bStrides[rank]
  Reduce = 3,         // rop, a, out, outer, len, inner
  ArgReduce = 4,      // rop, a, out, indices(i32), outer, len, inner
  Softmax = 5,        // a, out, rows, cols, log
  Matmul = 6,         // a, b, out, batch, m, k, n, transA, transB, aStride, bStride
  Copy = 7,           // src, dst, n (one type)
  Cast = 8,           // src, dst, n (between f32/f64/i32/u8; values the target holds exactly)
  Fill = 9,           // dst, n, constant index
  Permute = 10,       // a, out, rank, shape[rank], perm[rank]
  Slice = 11,         // a, out, outer, inner, aLen, start, step, count, outLen, outStart, add
  Solve = 12,         // method, a, b, out, n, nrhs, check
  CheckFinite = 13,   // a, n, check
  Gather = 14,        // a, indices(i32), out, outer, inner, aLen, count, check
  IndexAdd = 15,      // g, indices(i32), out, outer, inner, outLen, count, check
  Where = 16,         // cond, x, y, out, rank, shape[rank], strides (cond, x, y)[rank]
  RngUniform = 17,    // state(u32), out, n, from index, to index
  RngNormal = 18,     // state(u32), cache(f64), out, n, mean index, std index
  ZeroNonFinite = 19, // a, n (in place)
  OneHot = 20,        // indices(i32), out, outer, len, inner, check
  Dot = 21,           // a, b, out, rows, n (float64 accumulation)
  Im2col = 22,        // img, cols, geometry[14] (native/im2col.h), pad value index
  Col2im = 23,        // cols, img (accumulated into), geometry[14]
};
constexpr int32_t kInstrCount = 24;

// int64 tensors are float64 buffers of integers; U8 holds bool tensors (0 or 1).
enum class BufType : int32_t { F32 = 0, F64 = 1, I32 = 2, U32 = 3, U8 = 4 };

struct BufferSpec {
  BufType type;
  size_t length;
  int32_t bound;  // index into the per-call list, or -1 for a buffer the program owns
  int32_t pool;   // for an owned buffer: the shared pool it lives in, or -1 for storage of its own
};

struct Program {
  std::vector<BufferSpec> buffers;
  std::vector<int32_t> code;
  std::vector<double> constants;  // fill values and random-draw parameters
  std::vector<std::unique_ptr<double[]>> arena;  // per owned, unpooled buffer (8-byte aligned)
  // Intermediates whose live ranges do not overlap share a pool (see Recorder.pools).
  std::vector<std::unique_ptr<double[]>> pools;
  size_t boundCount = 0;
};

// Checks every instruction against the buffer table (codes, types, extents, overlaps);
// returns "" when the program is safe to run, else what is wrong and where.
std::string validateProgram(const Program& p);

// Runs a validated program; ptrs[i] is buffer i's storage. Returns -1, or the check index of
// the instruction that failed (a singular solve, a non-finite value, an index out of range).
int runProgram(const Program& p, void* const* ptrs, int threads);

}  // namespace mg
