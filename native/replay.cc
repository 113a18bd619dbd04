#include "replay.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "dispatch.h"
#include "im2col.h"
#include "ops.h"
#include "rng.h"
#include "solve.h"

namespace mg {
namespace {

template <class T>
constexpr BufType typeOf();
template <> constexpr BufType typeOf<float>() { return BufType::F32; }
template <> constexpr BufType typeOf<double>() { return BufType::F64; }
template <> constexpr BufType typeOf<int32_t>() { return BufType::I32; }
template <> constexpr BufType typeOf<uint32_t>() { return BufType::U32; }
template <> constexpr BufType typeOf<uint8_t>() { return BufType::U8; }

const char* typeName(BufType t) {
  switch (t) {
    case BufType::F32: return "float32";
    case BufType::F64: return "float64";
    case BufType::I32: return "int32";
    case BufType::U8: return "uint8";
    default: return "uint32";
  }
}

// Each instruction is written once, over a mode: Check validates the fields and the extents
// every kernel will touch; Run hands out pointers and runs the kernel. So what is checked is
// exactly what runs.
struct Check {
  static constexpr bool run = false;
  const Program& p;
  std::string error;
  size_t at = 0;  // the instruction's word offset, for messages

  bool fail(const std::string& what) {
    if (error.empty()) error = "instruction at word " + std::to_string(at) + ": " + what;
    return false;
  }
  // A reference to `count` elements of type T at fields (f[0], f[1]).
  template <class T>
  T* ref(const int32_t* f, size_t count) {
    const int32_t buf = f[0], off = f[1];
    if (buf < 0 || size_t(buf) >= p.buffers.size()) {
      fail("buffer " + std::to_string(buf) + " does not exist");
      return nullptr;
    }
    const BufferSpec& s = p.buffers[size_t(buf)];
    if (s.type != typeOf<T>()) {
      fail("buffer " + std::to_string(buf) + " is " + typeName(s.type) + ", the kernel needs " +
           typeName(typeOf<T>()));
      return nullptr;
    }
    if (off < 0 || (count > 0 && (size_t(off) > s.length || count > s.length - size_t(off))))
      fail("buffer " + std::to_string(buf) + " (" + std::to_string(s.length) +
           " elements) is read or written out of range (offset " + std::to_string(off) +
           ", " + std::to_string(count) + " elements)");
    return nullptr;
  }
  bool ok() const { return error.empty(); }
  bool need(bool cond, const char* what) { return cond || fail(what); }
  // Same buffer and overlapping element ranges.
  bool overlap(const int32_t* x, size_t nx, const int32_t* y, size_t ny) const {
    if (x[0] != y[0] || nx == 0 || ny == 0) return false;
    const int64_t x0 = x[1], y0 = y[1];
    return x0 < y0 + int64_t(ny) && y0 < x0 + int64_t(nx);
  }
};

struct Run {
  static constexpr bool run = true;
  void* const* ptrs;
  template <class T>
  T* ref(const int32_t* f, size_t) {
    return static_cast<T*>(ptrs[f[0]]) + f[1];
  }
  bool fail(const char*) { return false; }
  bool need(bool, const char*) { return true; }
  bool ok() const { return true; }
  bool overlap(const int32_t*, size_t, const int32_t*, size_t) const { return false; }
};

size_t sz(int32_t v) { return v < 0 ? 0 : size_t(v); }

// The farthest element a strided walk over `shape` reaches (strides >= 0), plus one.
size_t reach(const int32_t* shape, const int32_t* strides, int rank) {
  size_t hi = 0;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 0) return 0;
    hi += size_t(shape[d] - 1) * size_t(strides[d]);
  }
  return hi + 1;
}

template <class T>
void permute(const T* a, T* out, int rank, const int32_t* shape, const int32_t* perm) {
  int64_t inStrides[kMaxRank], strides[kMaxRank], outShape[kMaxRank], idx[kMaxRank] = {0};
  int64_t s = 1, n = 1;
  for (int d = rank - 1; d >= 0; --d) {
    inStrides[d] = s;
    s *= shape[d];
  }
  for (int d = 0; d < rank; ++d) {
    outShape[d] = shape[perm[d]];
    strides[d] = inStrides[perm[d]];
    n *= outShape[d];
  }
  int64_t src = 0;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = a[src];
    for (int d = rank - 1; d >= 0; --d) {
      ++idx[d];
      src += strides[d];
      if (idx[d] < outShape[d]) break;
      src -= strides[d] * outShape[d];
      idx[d] = 0;
    }
  }
}

template <class T>
void where(const T* c, const T* x, const T* y, T* out, int rank, const int32_t* shape,
           const int32_t* sc, const int32_t* sx, const int32_t* sy) {
  int64_t idx[kMaxRank] = {0}, n = 1;
  for (int d = 0; d < rank; ++d) n *= shape[d];
  int64_t ic = 0, ix = 0, iy = 0;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = c[ic] != 0 ? x[ix] : y[iy];
    for (int d = rank - 1; d >= 0; --d) {
      ++idx[d];
      ic += sc[d];
      ix += sx[d];
      iy += sy[d];
      if (idx[d] < shape[d]) break;
      ic -= int64_t(sc[d]) * shape[d];
      ix -= int64_t(sx[d]) * shape[d];
      iy -= int64_t(sy[d]) * shape[d];
      idx[d] = 0;
    }
  }
}

// One float instruction of element type T. Returns false when a runtime check fails (Run) or
// the fields are invalid (Check; the reason is in the mode).
template <class T, class M>
bool floatInstr(M& m, Instr code, const int32_t* f, size_t len, const Program& p, int threads) {
  const TypedKernels<T>& K = [] {
    if constexpr (std::is_same_v<T, float>) return kernels().f32;
    else return kernels().f64;
  }();
  switch (code) {
    case Instr::Unary: {
      if (!m.need(len >= 8 && f[0] >= 0 && f[0] < kUnaryOpCount, "bad unary instruction")) return false;
      const size_t n = sz(f[5]);
      const T* a = m.template ref<T>(f + 1, n);
      T* out = m.template ref<T>(f + 3, n);
      if constexpr (M::run) K.unary(UnaryOp(f[0]), a, out, n);
      return m.ok();
    }
    case Instr::Binary: {
      if (!m.need(len >= 10 && f[0] >= 0 && f[0] < kBinaryOpCount, "bad binary instruction")) return false;
      const int rank = f[7];
      if (!m.need(rank >= 0 && rank <= kMaxRank && len == size_t(10 + 3 * rank), "bad binary rank")) return false;
      const int32_t* shape = f + 8;
      const int32_t* sa = shape + rank;
      const int32_t* sb = sa + rank;
      size_t n = 1;
      for (int d = 0; d < rank; ++d) {
        if (!m.need(shape[d] >= 0 && sa[d] >= 0 && sb[d] >= 0, "negative binary shape or stride")) return false;
        n *= size_t(shape[d]);
      }
      const T* a = m.template ref<T>(f + 1, reach(shape, sa, rank));
      const T* b = m.template ref<T>(f + 3, reach(shape, sb, rank));
      T* out = m.template ref<T>(f + 5, n);
      if constexpr (M::run) {
        if (n == 0) return true;
        int64_t s[kMaxRank], xa[kMaxRank], xb[kMaxRank];
        for (int d = 0; d < rank; ++d) s[d] = shape[d], xa[d] = sa[d], xb[d] = sb[d];
        K.binary(BinaryOp(f[0]), a, xa, b, xb, out, s, rank);
      }
      return m.ok();
    }
    case Instr::Reduce: {
      if (!m.need(len == 10 && f[0] >= 0 && f[0] < kReduceOpCount, "bad reduce instruction")) return false;
      const size_t outer = sz(f[5]), rl = sz(f[6]), inner = sz(f[7]);
      const auto op = ReduceOp(f[0]);
      if (!m.need(rl > 0 || outer * inner == 0 || op == ReduceOp::Sum || op == ReduceOp::Prod,
                  "max/min over an empty axis"))
        return false;
      const T* a = m.template ref<T>(f + 1, outer * rl * inner);
      T* out = m.template ref<T>(f + 3, outer * inner);
      if constexpr (M::run) {
        if (outer * inner > 0) K.reduce(op, a, out, outer, rl, inner);
      }
      return m.ok();
    }
    case Instr::ArgReduce: {
      if (!m.need(len == 12 && (f[0] == int(ReduceOp::Max) || f[0] == int(ReduceOp::Min)), "bad argReduce instruction")) return false;
      const size_t outer = sz(f[7]), rl = sz(f[8]), inner = sz(f[9]);
      if (!m.need(rl > 0 || outer * inner == 0, "arg reduction over an empty axis")) return false;
      const T* a = m.template ref<T>(f + 1, outer * rl * inner);
      T* out = m.template ref<T>(f + 3, outer * inner);
      int32_t* idx = m.template ref<int32_t>(f + 5, outer * inner);
      if constexpr (M::run) {
        if (outer * inner > 0) K.argReduce(ReduceOp(f[0]), a, out, idx, outer, rl, inner);
      }
      return m.ok();
    }
    case Instr::Softmax: {
      if (!m.need(len == 9, "bad softmax instruction")) return false;
      const size_t rows = sz(f[4]), cols = sz(f[5]);
      const T* a = m.template ref<T>(f, rows * cols);
      T* out = m.template ref<T>(f + 2, rows * cols);
      if constexpr (M::run) {
        if (rows * cols > 0) K.softmax(a, out, rows, cols, f[6] != 0);
      }
      return m.ok();
    }
    case Instr::Matmul: {
      if (!m.need(len == 16, "bad matmul instruction")) return false;
      const size_t batch = sz(f[6]), mm = sz(f[7]), k = sz(f[8]), n = sz(f[9]);
      const bool ta = f[10] != 0, tb = f[11] != 0;
      const size_t as = sz(f[12]), bs = sz(f[13]);
      const size_t aNeed = batch == 0 || mm * k == 0 ? 0 : (batch - 1) * as + mm * k;
      const size_t bNeed = batch == 0 || k * n == 0 ? 0 : (batch - 1) * bs + k * n;
      const T* a = m.template ref<T>(f, aNeed);
      const T* b = m.template ref<T>(f + 2, bNeed);
      T* out = m.template ref<T>(f + 4, batch * mm * n);
      if (!m.need(!m.overlap(f + 4, batch * mm * n, f, aNeed) && !m.overlap(f + 4, batch * mm * n, f + 2, bNeed),
                  "matmul output overlaps an operand"))
        return false;
      if constexpr (M::run) {
        if (batch > 0 && mm > 0 && n > 0) K.matmul({a, b, out, batch, mm, k, n, ta, tb, as, bs, threads});
      }
      return m.ok();
    }
    case Instr::Fill: {
      if (!m.need(len == 6 && f[3] >= 0 && size_t(f[3]) < p.constants.size(), "bad fill instruction")) return false;
      const size_t n = sz(f[2]);
      T* out = m.template ref<T>(f, n);
      if constexpr (M::run) std::fill(out, out + n, T(p.constants[size_t(f[3])]));
      return m.ok();
    }
    case Instr::Permute: {
      if (!m.need(len >= 7, "bad permute instruction")) return false;
      const int rank = f[4];
      if (!m.need(rank >= 1 && rank <= kMaxRank && len == size_t(7 + 2 * rank), "bad permute rank")) return false;
      const int32_t* shape = f + 5;
      const int32_t* perm = shape + rank;
      size_t n = 1;
      bool seen[kMaxRank] = {false};
      for (int d = 0; d < rank; ++d) {
        if (!m.need(shape[d] >= 0 && perm[d] >= 0 && perm[d] < rank && !seen[perm[d]], "bad permutation")) return false;
        seen[perm[d]] = true;
        n *= size_t(shape[d]);
      }
      const T* a = m.template ref<T>(f, n);
      T* out = m.template ref<T>(f + 2, n);
      if (!m.need(!m.overlap(f, n, f + 2, n), "permute output overlaps its input")) return false;
      if constexpr (M::run) {
        if (n > 0) permute(a, out, rank, shape, perm);
      }
      return m.ok();
    }
    case Instr::Slice: {
      if (!m.need(len == 15, "bad slice instruction")) return false;
      const size_t outer = sz(f[4]), inner = sz(f[5]), aLen = sz(f[6]), start = sz(f[7]),
                   step = sz(f[8]), count = sz(f[9]), outLen = sz(f[10]), outStart = sz(f[11]);
      // scatter 0: rows start + c·step of a ([outer, aLen, inner]) go to rows outStart + c of
      // out ([outer, outLen, inner]); scatter 1 (the slice's backward): rows outStart + c of a
      // go to rows start + c·step of out.
      const bool scatter = f[12] != 0;
      const bool any = outer > 0 && inner > 0 && count > 0;
      const size_t strided = start + (any ? (count - 1) * step : 0), compact = outStart + count;
      if (!m.need(!any || (scatter ? strided < outLen && compact <= aLen : strided < aLen && compact <= outLen),
                  "slice rows out of range"))
        return false;
      const T* a = m.template ref<T>(f, any ? outer * aLen * inner : 0);
      T* out = m.template ref<T>(f + 2, any ? outer * outLen * inner : 0);
      if (!m.need(!m.overlap(f, outer * aLen * inner, f + 2, outer * outLen * inner), "slice output overlaps its input")) return false;
      if constexpr (M::run) {
        if (!any) return true;
        for (size_t o = 0; o < outer; ++o)
          for (size_t c = 0; c < count; ++c) {
            const size_t s = o * aLen + (scatter ? outStart + c : start + c * step);
            const size_t d = o * outLen + (scatter ? start + c * step : outStart + c);
            std::memcpy(out + d * inner, a + s * inner, inner * sizeof(T));
          }
      }
      return m.ok();
    }
    case Instr::Solve: {
      if (!m.need(len == 12 && f[0] >= 0 && f[0] < kSolveMethodCount, "bad solve instruction")) return false;
      const size_t n = sz(f[7]), nrhs = sz(f[8]);
      const T* a = m.template ref<T>(f + 1, n * n);
      const T* b = m.template ref<T>(f + 3, n * nrhs);
      T* out = m.template ref<T>(f + 5, n * nrhs);
      if constexpr (M::run) return solveDense(SolveMethod(f[0]), a, b, out, n, nrhs) == 0;
      return m.ok();
    }
    case Instr::CheckFinite: {
      if (!m.need(len == 6, "bad checkFinite instruction")) return false;
      const size_t n = sz(f[2]);
      const T* a = m.template ref<T>(f, n);
      if constexpr (M::run) {
        for (size_t i = 0; i < n; ++i)
          if (!std::isfinite(a[i])) return false;
      }
      return m.ok();
    }
    case Instr::Gather:
    case Instr::IndexAdd: {
      if (!m.need(len == 13, "bad gather instruction")) return false;
      const size_t outer = sz(f[6]), inner = sz(f[7]), rows = sz(f[8]), count = sz(f[9]);
      const bool gather = code == Instr::Gather;
      // Gather: out[o, c] = a[o, idx[c]] (a has `rows` rows); IndexAdd: out[o, idx[c]] += a[o, c].
      const T* a = m.template ref<T>(f, outer * (gather ? rows : count) * inner);
      const int32_t* idx = m.template ref<int32_t>(f + 2, count);
      T* out = m.template ref<T>(f + 4, outer * (gather ? count : rows) * inner);
      if constexpr (M::run) {
        for (size_t c = 0; c < count; ++c)
          if (idx[c] < 0 || size_t(idx[c]) >= rows) return false;
        for (size_t o = 0; o < outer; ++o)
          for (size_t c = 0; c < count; ++c) {
            const size_t r = size_t(idx[c]);
            if (gather) {
              std::memcpy(out + (o * count + c) * inner, a + (o * rows + r) * inner, inner * sizeof(T));
            } else {
              const T* src = a + (o * count + c) * inner;
              T* dst = out + (o * rows + r) * inner;
              for (size_t i = 0; i < inner; ++i) dst[i] += src[i];
            }
          }
      }
      return m.ok();
    }
    case Instr::Where: {
      if (!m.need(len >= 11, "bad where instruction")) return false;
      const int rank = f[8];
      if (!m.need(rank >= 0 && rank <= kMaxRank && len == size_t(11 + 4 * rank), "bad where rank")) return false;
      const int32_t* shape = f + 9;
      size_t n = 1;
      for (int d = 0; d < rank; ++d) {
        if (!m.need(shape[d] >= 0 && shape[rank + d] >= 0 && shape[2 * rank + d] >= 0 && shape[3 * rank + d] >= 0,
                    "negative where shape or stride"))
          return false;
        n *= size_t(shape[d]);
      }
      const T* c = m.template ref<T>(f, reach(shape, shape + rank, rank));
      const T* x = m.template ref<T>(f + 2, reach(shape, shape + 2 * rank, rank));
      const T* y = m.template ref<T>(f + 4, reach(shape, shape + 3 * rank, rank));
      T* out = m.template ref<T>(f + 6, n);
      if constexpr (M::run) {
        if (n > 0) where(c, x, y, out, rank, shape, shape + rank, shape + 2 * rank, shape + 3 * rank);
      }
      return m.ok();
    }
    case Instr::RngUniform: {
      if (!m.need(len == 9 && f[5] >= 0 && size_t(f[6]) < p.constants.size() && f[6] >= 0 && size_t(f[5]) < p.constants.size(),
                  "bad random instruction"))
        return false;
      uint32_t* state = m.template ref<uint32_t>(f, kRngStateWords);
      const size_t n = sz(f[4]);
      T* out = m.template ref<T>(f + 2, n);
      if constexpr (M::run) rngUniform(state, out, n, p.constants[size_t(f[5])], p.constants[size_t(f[6])]);
      return m.ok();
    }
    case Instr::RngNormal: {
      if (!m.need(len == 11 && f[7] >= 0 && size_t(f[7]) < p.constants.size() && f[8] >= 0 && size_t(f[8]) < p.constants.size(),
                  "bad random instruction"))
        return false;
      uint32_t* state = m.template ref<uint32_t>(f, kRngStateWords);
      double* cache = m.template ref<double>(f + 2, kRngCacheSlots);
      const size_t n = sz(f[6]);
      T* out = m.template ref<T>(f + 4, n);
      if constexpr (M::run) rngNormal(state, cache, out, n, p.constants[size_t(f[7])], p.constants[size_t(f[8])]);
      return m.ok();
    }
    case Instr::ZeroNonFinite: {
      if (!m.need(len == 5, "bad zeroNonFinite instruction")) return false;
      const size_t n = sz(f[2]);
      T* a = m.template ref<T>(f, n);
      if constexpr (M::run) {
        for (size_t i = 0; i < n; ++i)
          if (!std::isfinite(a[i])) a[i] = 0;
      }
      return m.ok();
    }
    case Instr::OneHot: {
      if (!m.need(len == 10, "bad oneHot instruction")) return false;
      const size_t outer = sz(f[4]), rl = sz(f[5]), inner = sz(f[6]);
      const int32_t* idx = m.template ref<int32_t>(f, outer * inner);
      T* out = m.template ref<T>(f + 2, outer * rl * inner);
      if constexpr (M::run) {
        std::fill(out, out + outer * rl * inner, T(0));
        for (size_t o = 0; o < outer; ++o)
          for (size_t i = 0; i < inner; ++i) {
            const int32_t k = idx[o * inner + i];
            if (k < 0 || size_t(k) >= rl) return false;
            out[(o * rl + size_t(k)) * inner + i] = T(1);
          }
      }
      return m.ok();
    }
    case Instr::Dot: {
      if (!m.need(len == 10, "bad dot instruction")) return false;
      const size_t rows = sz(f[6]), n = sz(f[7]);
      const T* a = m.template ref<T>(f, rows * n);
      const T* b = m.template ref<T>(f + 2, rows * n);
      T* out = m.template ref<T>(f + 4, rows);
      if constexpr (M::run) {
        for (size_t r = 0; r < rows; ++r) {
          double acc = 0;  // in order, as the JavaScript loop (no fused multiply-adds: see the build)
          for (size_t i = r * n, end = i + n; i < end; ++i) acc += double(a[i]) * double(b[i]);
          out[r] = T(acc);
        }
      }
      return m.ok();
    }
    case Instr::Im2col:
    case Instr::Col2im: {
      const bool forward = code == Instr::Im2col;
      if (!m.need(len == size_t(forward ? 21 : 20), "bad im2col instruction")) return false;
      const Im2colGeometry g = im2colGeometry(f + 4);
      const char* bad = im2colInvalid(g);
      if (!m.need(*bad == 0, bad)) return false;
      size_t imageN = 0, colsN = 0;
      if (!m.need(im2colSizes(g, &imageN, &colsN), "im2col sizes overflow")) return false;
      const size_t srcN = forward ? imageN : colsN, dstN = forward ? colsN : imageN;
      if (!m.need(!m.overlap(f, srcN, f + 2, dstN), "im2col input and output overlap")) return false;
      const T* src = m.template ref<T>(f, srcN);
      T* dst = m.template ref<T>(f + 2, dstN);
      if (forward && !m.need(f[18] >= 0 && size_t(f[18]) < p.constants.size(), "bad im2col pad value")) return false;
      if constexpr (M::run) {
        if (forward) im2col(src, dst, g, T(p.constants[size_t(f[18])]));
        else col2im(src, dst, g);
      }
      return m.ok();
    }
    default:
      return m.fail("unknown instruction");
  }
}

template <class S, class D, class M>
bool castInstr(M& m, const int32_t* f) {
  const size_t n = sz(f[4]);
  const S* s = m.template ref<S>(f, n);
  D* d = m.template ref<D>(f + 2, n);
  if constexpr (M::run) {
    if constexpr (std::is_same_v<S, D>) std::memmove(d, s, n * sizeof(S));
    else for (size_t i = 0; i < n; ++i) d[i] = D(s[i]);
  }
  return m.ok();
}

BufType bufType(const Program& p, int32_t buf) {
  return buf >= 0 && size_t(buf) < p.buffers.size() ? p.buffers[size_t(buf)].type : BufType::F32;
}

// The buffer whose type decides the kernel's element type, per instruction.
int32_t typeBuffer(Instr code, const int32_t* f) {
  switch (code) {
    case Instr::Unary: case Instr::Binary: case Instr::Reduce: case Instr::ArgReduce: return f[1];
    case Instr::Solve: return f[1];
    case Instr::RngUniform: return f[2];
    case Instr::RngNormal: return f[4];
    case Instr::Gather: case Instr::IndexAdd: return f[0];
    case Instr::OneHot: return f[2];
    default: return f[0];
  }
}

template <class M>
bool instr(M& m, const Program& p, size_t at, int threads, size_t* next) {
  const int32_t* w = p.code.data() + at;
  const size_t remaining = p.code.size() - at;
  if (!m.need(remaining >= 2 && w[1] >= 2 && size_t(w[1]) <= remaining, "bad instruction length")) return false;
  const size_t len = size_t(w[1]);
  *next = at + len;
  const auto code = Instr(w[0]);
  const int32_t* f = w + 2;
  if (code == Instr::Nop) return true;
  if (code == Instr::Copy || code == Instr::Cast) {
    if (!m.need(len == 7, "bad copy instruction")) return false;
    const BufType s = bufType(p, f[0]), d = bufType(p, f[2]);
    if (code == Instr::Copy && !m.need(s == d, "copy between buffers of different types")) return false;
    // The recorder casts only values the target holds exactly (integers, 0/1 masks), so a
    // plain conversion is the eager cast.
    const auto pair = [](BufType a, BufType b) { return int(a) * 8 + int(b); };
    switch (pair(s, d)) {
      case pair(BufType::F32, BufType::F32): return castInstr<float, float>(m, f);
      case pair(BufType::F32, BufType::F64): return castInstr<float, double>(m, f);
      case pair(BufType::F32, BufType::I32): return castInstr<float, int32_t>(m, f);
      case pair(BufType::F32, BufType::U8): return castInstr<float, uint8_t>(m, f);
      case pair(BufType::F64, BufType::F32): return castInstr<double, float>(m, f);
      case pair(BufType::F64, BufType::F64): return castInstr<double, double>(m, f);
      case pair(BufType::F64, BufType::I32): return castInstr<double, int32_t>(m, f);
      case pair(BufType::F64, BufType::U8): return castInstr<double, uint8_t>(m, f);
      case pair(BufType::I32, BufType::F32): return castInstr<int32_t, float>(m, f);
      case pair(BufType::I32, BufType::F64): return castInstr<int32_t, double>(m, f);
      case pair(BufType::I32, BufType::I32): return castInstr<int32_t, int32_t>(m, f);
      case pair(BufType::U32, BufType::U32): return castInstr<uint32_t, uint32_t>(m, f);
      case pair(BufType::U8, BufType::F32): return castInstr<uint8_t, float>(m, f);
      case pair(BufType::U8, BufType::F64): return castInstr<uint8_t, double>(m, f);
      case pair(BufType::U8, BufType::I32): return castInstr<uint8_t, int32_t>(m, f);
      case pair(BufType::F64, BufType::U32): return m.fail("unsupported cast");
      case pair(BufType::U8, BufType::U8): return castInstr<uint8_t, uint8_t>(m, f);
      default: return m.fail("unsupported cast");
    }
  }
  if (len < 4) return m.fail("instruction too short");
  const BufType t = bufType(p, typeBuffer(code, f));
  if (t == BufType::F64) return floatInstr<double>(m, code, f, len, p, threads);
  return floatInstr<float>(m, code, f, len, p, threads);
}

// The check index an instruction reports when it fails at run time.
int checkIndex(const Program& p, size_t at) {
  const int32_t* w = p.code.data() + at;
  return w[w[1] - 1];
}

}  // namespace

std::string validateProgram(const Program& p) {
  Check m{p, {}};
  for (size_t at = 0, next = 0; at < p.code.size(); at = next) {
    m.at = at;
    if (!instr(m, p, at, 1, &next)) return m.error.empty() ? "invalid instruction at word " + std::to_string(at) : m.error;
  }
  return "";
}

int runProgram(const Program& p, void* const* ptrs, int threads) {
  Run m{ptrs};
  for (size_t at = 0, next = 0; at < p.code.size(); at = next)
    if (!instr(m, p, at, threads, &next)) return checkIndex(p, at);
  return -1;
}

}  // namespace mg
