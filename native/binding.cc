// The N-API surface of the addon (see ts/tensor/native.ts). This is the only file that talks
// to N-API: it checks every argument that could make a kernel touch memory outside the given
// typed arrays, throwing a TypeError / RangeError that names the function, then calls the
// plain C++ kernels.
#include <napi.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>
#include <thread>

#include "dispatch.h"
#include "im2col.h"
#include "ops.h"
#include "replay.h"
#include "rng.h"
#include "solve.h"

namespace {

using mg::kMaxRank;

// A typed array's elements, as seen by the kernels.
struct View {
  napi_typedarray_type type;
  void* data;
  size_t length;
};

const char* typeName(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    default: return "another typed array";
  }
}

// Reads and checks the arguments of one call; errors name the function and the argument.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn, size_t count) : info_(info), fn_(fn) {
    if (info.Length() < count)
      typeError("expected " + std::to_string(count) + " arguments, got " +
                std::to_string(info.Length()));
  }

  Napi::Env env() const { return info_.Env(); }

  [[noreturn]] void typeError(const std::string& msg) const {
    throw Napi::TypeError::New(info_.Env(), std::string(fn_) + ": " + msg);
  }
  [[noreturn]] void rangeError(const std::string& msg) const {
    throw Napi::RangeError::New(info_.Env(), std::string(fn_) + ": " + msg);
  }

  View typedArray(size_t i, const char* name) const {
    napi_value v = info_[i];
    bool is = false;
    napi_is_typedarray(info_.Env(), v, &is);
    if (!is) typeError(std::string(name) + " must be a typed array");
    View out{};
    napi_status st = napi_get_typedarray_info(info_.Env(), v, &out.type, &out.length, &out.data,
                                              nullptr, nullptr);
    if (st != napi_ok) typeError(std::string("cannot read ") + name);
    if (out.length == 0) out.data = nullptr;  // never dereferenced then
    return out;
  }

  // A Float32Array or Float64Array; `like` (when given) must have the same type.
  View floats(size_t i, const char* name, const View* like = nullptr) const {
    View v = typedArray(i, name);
    if (v.type != napi_float32_array && v.type != napi_float64_array)
      typeError(std::string(name) + " must be a Float32Array or Float64Array, got " +
                typeName(v.type));
    if (like && like->type != v.type)
      typeError(std::string(name) + " must be a " + typeName(like->type) + " like the other " +
                "operands, got " + typeName(v.type));
    return v;
  }

  View ofType(size_t i, const char* name, napi_typedarray_type type) const {
    View v = typedArray(i, name);
    if (v.type != type)
      typeError(std::string(name) + " must be a " + typeName(type) + ", got " + typeName(v.type));
    return v;
  }

  double number(size_t i, const char* name) const {
    if (!info_[i].IsNumber()) typeError(std::string(name) + " must be a number");
    return info_[i].As<Napi::Number>().DoubleValue();
  }

  // A non-negative integer no larger than `max`.
  size_t count(size_t i, const char* name, double max = 9007199254740991.0) const {
    const double d = number(i, name);
    if (!(d >= 0 && d <= max && d == double(int64_t(d))))
      rangeError(std::string(name) + " must be an integer in [0, " +
                 std::to_string(int64_t(max)) + "], got " + std::to_string(d));
    return size_t(d);
  }

  bool boolean(size_t i, const char* name) const {
    if (!info_[i].IsBoolean()) typeError(std::string(name) + " must be a boolean");
    return info_[i].As<Napi::Boolean>().Value();
  }

  int op(size_t i, const char* name, int count) const {
    const size_t v = this->count(i, name, 1e9);
    if (v >= size_t(count))
      rangeError(std::string(name) + " must be an op code in [0, " + std::to_string(count - 1) +
                 "], got " + std::to_string(v));
    return int(v);
  }

  size_t mul(size_t a, size_t b) const {
    if (b != 0 && a > SIZE_MAX / b) rangeError("sizes overflow");
    return a * b;
  }
  size_t add(size_t a, size_t b) const {
    if (a > SIZE_MAX - b) rangeError("sizes overflow");
    return a + b;
  }

  void needLength(const View& v, size_t need, const char* name) const {
    if (v.length < need)
      rangeError(std::string(name) + " has " + std::to_string(v.length) + " elements, needs " +
                 std::to_string(need));
  }

 private:
  const Napi::CallbackInfo& info_;
  const char* fn_;
};

bool isF32(const View& v) { return v.type == napi_float32_array; }
template <class T>
T* ptr(const View& v) {
  return static_cast<T*>(v.data);
}

bool overlaps(const View& x, const View& y) {
  if (!x.data || !y.data) return false;
  auto x0 = reinterpret_cast<uintptr_t>(x.data), y0 = reinterpret_cast<uintptr_t>(y.data);
  auto bytes = [](const View& v) { return v.length * (v.type == napi_float64_array ? 8 : 4); };
  return x0 < y0 + bytes(y) && y0 < x0 + bytes(x);
}

int initialThreads() {
  if (const char* env = std::getenv("METAGRAD_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return n;
  }
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

const char* compilerName() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#elif defined(_MSC_VER)
  return "msvc";
#else
  return "unknown";
#endif
}

// Per-instance state (one per Node environment / worker): only the thread limit.
class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env, Napi::Object exports) : threads_(initialThreads()) {
    DefineAddon(exports, {
                             InstanceMethod("backendInfo", &Addon::BackendInfo),
                             InstanceMethod("setNumThreads", &Addon::SetNumThreads),
                             InstanceMethod("matmul", &Addon::Matmul),
                             InstanceMethod("unary", &Addon::Unary),
                             InstanceMethod("binary", &Addon::Binary),
                             InstanceMethod("reduce", &Addon::Reduce),
                             InstanceMethod("argReduce", &Addon::ArgReduce),
                             InstanceMethod("softmax", &Addon::Softmax),
                             InstanceMethod("im2col", &Addon::Im2col),
                             InstanceMethod("col2im", &Addon::Col2im),
                             InstanceMethod("solveDense", &Addon::SolveDense),
                             InstanceMethod("rngSeed", &Addon::RngSeed),
                             InstanceMethod("rngUniform", &Addon::RngUniform),
                             InstanceMethod("rngNormal", &Addon::RngNormal),
                             InstanceMethod("replayCreate", &Addon::ReplayCreate),
                             InstanceMethod("replayRun", &Addon::ReplayRun),
                         });
  }

 private:
  Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("isa", mg::kernels().isa);
    const auto isas = mg::compiledIsas();
    Napi::Array list = Napi::Array::New(env, isas.size());
    for (size_t i = 0; i < isas.size(); ++i) list.Set(uint32_t(i), isas[i]);
    o.Set("compiledIsas", list);
    o.Set("eigen", mg::eigenVersion());
    o.Set("threads", threads_);
    o.Set("compiler", compilerName());
    return o;
  }

  Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
    Args args(info, "setNumThreads", 1);
    const size_t n = args.count(0, "n", 1024);
    if (n < 1) args.rangeError("n must be >= 1");
    threads_ = int(n);
    return info.Env().Undefined();
  }

  Napi::Value Matmul(const Napi::CallbackInfo& info) {
    Args args(info, "matmul", 11);
    const View a = args.floats(0, "a"), b = args.floats(1, "b", &a), out = args.floats(2, "out", &a);
    const size_t batch = args.count(3, "batch"), m = args.count(4, "m"), k = args.count(5, "k"),
                 n = args.count(6, "n");
    const bool transA = args.boolean(7, "transA"), transB = args.boolean(8, "transB");
    const size_t aStride = args.count(9, "aBatchStride"), bStride = args.count(10, "bBatchStride");
    if (batch > 0) {
      const size_t am = args.mul(m, k), bm = args.mul(k, n);
      if (am > 0) args.needLength(a, args.add(args.mul(batch - 1, aStride), am), "a");
      if (bm > 0) args.needLength(b, args.add(args.mul(batch - 1, bStride), bm), "b");
      args.needLength(out, args.mul(batch, args.mul(m, n)), "out");
    }
    if (overlaps(out, a) || overlaps(out, b)) args.rangeError("out must not overlap a or b");
    // No output: return at once, whatever the other sizes (a loop over 2^40 empty batches hangs).
    if (batch == 0 || m == 0 || n == 0) return info.Env().Undefined();
    const auto& K = mg::kernels();
    if (isF32(a))
      K.f32.matmul({ptr<float>(a), ptr<float>(b), ptr<float>(out), batch, m, k, n, transA, transB,
                    aStride, bStride, threads_});
    else
      K.f64.matmul({ptr<double>(a), ptr<double>(b), ptr<double>(out), batch, m, k, n, transA,
                    transB, aStride, bStride, threads_});
    return info.Env().Undefined();
  }

  Napi::Value Unary(const Napi::CallbackInfo& info) {
    Args args(info, "unary", 3);
    const auto op = mg::UnaryOp(args.op(0, "op", mg::kUnaryOpCount));
    const View a = args.floats(1, "a"), out = args.floats(2, "out", &a);
    args.needLength(out, a.length, "out");
    if (isF32(a))
      mg::kernels().f32.unary(op, ptr<float>(a), ptr<float>(out), a.length);
    else
      mg::kernels().f64.unary(op, ptr<double>(a), ptr<double>(out), a.length);
    return info.Env().Undefined();
  }

  Napi::Value Binary(const Napi::CallbackInfo& info) {
    Args args(info, "binary", 7);
    const auto op = mg::BinaryOp(args.op(0, "op", mg::kBinaryOpCount));
    const View a = args.floats(1, "a");
    const View as = args.ofType(2, "aStrides", napi_int32_array);
    const View b = args.floats(3, "b", &a);
    const View bs = args.ofType(4, "bStrides", napi_int32_array);
    const View out = args.floats(5, "out", &a);
    const View shapeView = args.ofType(6, "outShape", napi_int32_array);
    const size_t rank = shapeView.length;
    if (rank > size_t(kMaxRank)) args.rangeError("rank must be <= 8, got " + std::to_string(rank));
    if (as.length != rank || bs.length != rank)
      args.rangeError("aStrides and bStrides must have one entry per outShape dimension");
    int64_t shape[kMaxRank], sa[kMaxRank], sb[kMaxRank];
    size_t numel = 1;
    for (size_t d = 0; d < rank; ++d) {
      shape[d] = ptr<int32_t>(shapeView)[d];
      sa[d] = ptr<int32_t>(as)[d];
      sb[d] = ptr<int32_t>(bs)[d];
      if (shape[d] < 0) args.rangeError("outShape entries must be >= 0");
      numel = args.mul(numel, size_t(shape[d]));
    }
    if (numel > 0) {
      args.needLength(out, numel, "out");
      // The farthest elements each operand's strides reach must lie inside it.
      auto checkReach = [&](const int64_t* s, const View& v, const char* name) {
        int64_t lo = 0, hi = 0;
        for (size_t d = 0; d < rank; ++d) {
          const int64_t span = (shape[d] - 1) * s[d];  // |span| < 2^62
          if (span < 0 ? lo < INT64_MIN - span : hi > INT64_MAX - span)
            args.rangeError(std::string(name) + "'s strides overflow");
          (span < 0 ? lo : hi) += span;
        }
        if (lo < 0) args.rangeError(std::string(name) + "'s strides reach before its start");
        args.needLength(v, size_t(hi) + 1, name);
      };
      checkReach(sa, a, "a");
      checkReach(sb, b, "b");
    }
    if (numel == 0) return info.Env().Undefined();
    if (isF32(a))
      mg::kernels().f32.binary(op, ptr<float>(a), sa, ptr<float>(b), sb, ptr<float>(out), shape,
                               int(rank));
    else
      mg::kernels().f64.binary(op, ptr<double>(a), sa, ptr<double>(b), sb, ptr<double>(out),
                               shape, int(rank));
    return info.Env().Undefined();
  }

  // The geometry words of im2col/col2im (native/im2col.h), checked, with the two sizes.
  static mg::Im2colGeometry geometryOf(const Args& args, size_t i, size_t* image, size_t* cols) {
    const View w = args.ofType(i, "geometry", napi_int32_array);
    if (w.length != size_t(mg::kIm2colWords))
      args.rangeError("geometry must have " + std::to_string(mg::kIm2colWords) + " entries, got " +
                      std::to_string(w.length));
    const mg::Im2colGeometry g = mg::im2colGeometry(ptr<int32_t>(w));
    const char* bad = mg::im2colInvalid(g);
    if (*bad != 0) args.rangeError(bad);
    if (!mg::im2colSizes(g, image, cols)) args.rangeError("sizes overflow");
    return g;
  }

  Napi::Value Im2col(const Napi::CallbackInfo& info) {
    Args args(info, "im2col", 4);
    const View img = args.floats(0, "img"), cols = args.floats(1, "cols", &img);
    size_t imageN = 0, colsN = 0;
    const mg::Im2colGeometry g = geometryOf(args, 2, &imageN, &colsN);
    const double pad = args.number(3, "padValue");
    args.needLength(img, imageN, "img");
    args.needLength(cols, colsN, "cols");
    if (overlaps(img, cols)) args.rangeError("cols must not overlap img");
    if (colsN == 0) return info.Env().Undefined();
    if (isF32(img)) mg::im2col(ptr<float>(img), ptr<float>(cols), g, float(pad));
    else mg::im2col(ptr<double>(img), ptr<double>(cols), g, pad);
    return info.Env().Undefined();
  }

  Napi::Value Col2im(const Napi::CallbackInfo& info) {
    Args args(info, "col2im", 3);
    const View cols = args.floats(0, "cols"), img = args.floats(1, "img", &cols);
    size_t imageN = 0, colsN = 0;
    const mg::Im2colGeometry g = geometryOf(args, 2, &imageN, &colsN);
    args.needLength(img, imageN, "img");
    args.needLength(cols, colsN, "cols");
    if (overlaps(img, cols)) args.rangeError("img must not overlap cols");
    if (colsN == 0) return info.Env().Undefined();
    if (isF32(img)) mg::col2im(ptr<float>(cols), ptr<float>(img), g);
    else mg::col2im(ptr<double>(cols), ptr<double>(img), g);
    return info.Env().Undefined();
  }

  Napi::Value Reduce(const Napi::CallbackInfo& info) {
    Args args(info, "reduce", 6);
    const auto op = mg::ReduceOp(args.op(0, "op", mg::kReduceOpCount));
    const View a = args.floats(1, "a"), out = args.floats(2, "out", &a);
    const size_t outer = args.count(3, "outer"), len = args.count(4, "len"),
                 inner = args.count(5, "inner");
    const size_t outN = args.mul(outer, inner);
    args.needLength(a, args.mul(outN, len), "a");
    args.needLength(out, outN, "out");
    if (len == 0 && outN > 0 && (op == mg::ReduceOp::Max || op == mg::ReduceOp::Min))
      args.rangeError("Max/Min of an empty axis is undefined");
    if (outN == 0) return info.Env().Undefined();
    if (isF32(a))
      mg::kernels().f32.reduce(op, ptr<float>(a), ptr<float>(out), outer, len, inner);
    else
      mg::kernels().f64.reduce(op, ptr<double>(a), ptr<double>(out), outer, len, inner);
    return info.Env().Undefined();
  }

  Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
    Args args(info, "argReduce", 7);
    const auto op = mg::ReduceOp(args.op(0, "op", mg::kReduceOpCount));
    if (op != mg::ReduceOp::Max && op != mg::ReduceOp::Min) args.rangeError("op must be Max or Min");
    const View a = args.floats(1, "a"), out = args.floats(2, "out", &a);
    const View idx = args.ofType(3, "indices", napi_int32_array);
    const size_t outer = args.count(4, "outer"), len = args.count(5, "len", 2147483647.0),
                 inner = args.count(6, "inner");
    const size_t outN = args.mul(outer, inner);
    args.needLength(a, args.mul(outN, len), "a");
    args.needLength(out, outN, "out");
    args.needLength(idx, outN, "indices");
    if (outN == 0) return info.Env().Undefined();
    if (len == 0) args.rangeError("arg reduction of an empty axis is undefined");
    if (isF32(a))
      mg::kernels().f32.argReduce(op, ptr<float>(a), ptr<float>(out), ptr<int32_t>(idx), outer,
                                  len, inner);
    else
      mg::kernels().f64.argReduce(op, ptr<double>(a), ptr<double>(out), ptr<int32_t>(idx), outer,
                                  len, inner);
    return info.Env().Undefined();
  }

  Napi::Value Softmax(const Napi::CallbackInfo& info) {
    Args args(info, "softmax", 5);
    const View a = args.floats(0, "a"), out = args.floats(1, "out", &a);
    const size_t rows = args.count(2, "rows"), cols = args.count(3, "cols");
    const bool log = args.boolean(4, "log");
    const size_t numel = args.mul(rows, cols);
    args.needLength(a, numel, "a");
    args.needLength(out, numel, "out");
    if (numel == 0) return info.Env().Undefined();
    if (isF32(a))
      mg::kernels().f32.softmax(ptr<float>(a), ptr<float>(out), rows, cols, log);
    else
      mg::kernels().f64.softmax(ptr<double>(a), ptr<double>(out), rows, cols, log);
    return info.Env().Undefined();
  }

  Napi::Value SolveDense(const Napi::CallbackInfo& info) {
    Args args(info, "solveDense", 6);
    const auto method = mg::SolveMethod(args.op(0, "method", mg::kSolveMethodCount));
    const View a = args.floats(1, "a"), b = args.floats(2, "b", &a), out = args.floats(3, "out", &a);
    const size_t n = args.count(4, "n", 1 << 30), nrhs = args.count(5, "nrhs", 1 << 30);
    args.needLength(a, args.mul(n, n), "a");
    args.needLength(b, args.mul(n, nrhs), "b");
    args.needLength(out, args.mul(n, nrhs), "out");
    const int status =
        isF32(a) ? mg::solveDense(method, ptr<float>(a), ptr<float>(b), ptr<float>(out), n, nrhs)
                 : mg::solveDense(method, ptr<double>(a), ptr<double>(b), ptr<double>(out), n, nrhs);
    return Napi::Number::New(info.Env(), status);
  }

  Napi::Value RngSeed(const Napi::CallbackInfo& info) {
    Args args(info, "rngSeed", 3);
    const View state = rngState(args);
    const uint64_t lo = args.count(1, "seedLo", 4294967295.0),
                   hi = args.count(2, "seedHi", 4294967295.0);
    mg::rngSeed(ptr<uint32_t>(state), (hi << 32) | lo);
    return info.Env().Undefined();
  }

  Napi::Value RngUniform(const Napi::CallbackInfo& info) {
    Args args(info, "rngUniform", 4);
    const View state = rngState(args);
    const View out = args.floats(1, "out");
    const double from = args.number(2, "from"), to = args.number(3, "to");
    if (isF32(out))
      mg::rngUniform(ptr<uint32_t>(state), ptr<float>(out), out.length, from, to);
    else
      mg::rngUniform(ptr<uint32_t>(state), ptr<double>(out), out.length, from, to);
    return info.Env().Undefined();
  }

  Napi::Value RngNormal(const Napi::CallbackInfo& info) {
    Args args(info, "rngNormal", 5);
    const View state = rngState(args);
    const View cache = args.ofType(1, "cache", napi_float64_array);
    args.needLength(cache, mg::kRngCacheSlots, "cache");
    const View out = args.floats(2, "out");
    const double mean = args.number(3, "mean"), stddev = args.number(4, "std");
    if (isF32(out))
      mg::rngNormal(ptr<uint32_t>(state), ptr<double>(cache), ptr<float>(out), out.length, mean,
                    stddev);
    else
      mg::rngNormal(ptr<uint32_t>(state), ptr<double>(cache), ptr<double>(out), out.length, mean,
                    stddev);
    return info.Env().Undefined();
  }


  static mg::BufType bufTypeOf(napi_typedarray_type t) {
    switch (t) {
      case napi_float32_array: return mg::BufType::F32;
      case napi_float64_array: return mg::BufType::F64;
      case napi_int32_array: return mg::BufType::I32;
      case napi_uint8_array: return mg::BufType::U8;
      default: return mg::BufType::U32;
    }
  }
  static bool replayable(napi_typedarray_type t) {
    return t == napi_float32_array || t == napi_float64_array || t == napi_int32_array ||
           t == napi_uint32_array || t == napi_uint8_array;
  }
  static size_t elementBytes(mg::BufType t) { return t == mg::BufType::F64 ? 8 : t == mg::BufType::U8 ? 1 : 4; }

  // replayCreate(buffers Int32Array [type, length, bound, pool] per buffer, code Int32Array,
  // constants Float64Array, inits (typed array | null)[] per buffer, pool sizes in bytes
  // Float64Array): a validated program.
  Napi::Value ReplayCreate(const Napi::CallbackInfo& info) {
    Args args(info, "replayCreate", 5);
    Napi::Env env = info.Env();
    const View meta = args.ofType(0, "buffers", napi_int32_array);
    const View code = args.ofType(1, "code", napi_int32_array);
    const View consts = args.ofType(2, "constants", napi_float64_array);
    if (!info[3].IsArray()) args.typeError("inits must be an array");
    const Napi::Array inits = info[3].As<Napi::Array>();
    const View poolSizes = args.ofType(4, "pools", napi_float64_array);
    if (meta.length % 4 != 0) args.rangeError("buffers must hold 4 entries per buffer");
    auto prog = std::make_unique<mg::Program>();
    const size_t count = meta.length / 4;
    std::vector<size_t> poolBytes;
    size_t owned = 0;
    for (size_t k = 0; k < poolSizes.length; ++k) {
      const double b = ptr<double>(poolSizes)[k];
      if (!(b >= 0 && b <= 9007199254740991.0 && b == double(int64_t(b)))) args.rangeError("pool sizes must be byte counts");
      poolBytes.push_back(size_t(b));
      prog->pools.emplace_back(new double[(size_t(b) + 7) / 8 + 1]());
      owned += size_t(b);
    }
    if (inits.Length() != count) args.rangeError("inits must have one entry per buffer");
    const int32_t* m = ptr<int32_t>(meta);
    for (size_t i = 0; i < count; ++i) {
      const int32_t type = m[4 * i], length = m[4 * i + 1], bound = m[4 * i + 2], pool = m[4 * i + 3];
      if (type < 0 || type > 4) args.rangeError("buffer " + std::to_string(i) + " has an unknown type");
      if (length < 0) args.rangeError("buffer " + std::to_string(i) + " has a negative length");
      if (bound < -1) args.rangeError("buffer " + std::to_string(i) + " has a bad bound index");
      if (pool < -1 || (pool >= 0 && (bound >= 0 || size_t(pool) >= poolBytes.size())))
        args.rangeError("buffer " + std::to_string(i) + " has a bad pool index");
      mg::BufferSpec spec{mg::BufType(type), size_t(length), bound, pool};
      prog->buffers.push_back(spec);
      if (bound >= 0 || pool >= 0) {
        if (bound >= 0) prog->boundCount = std::max(prog->boundCount, size_t(bound) + 1);
        if (pool >= 0 && args.mul(spec.length, elementBytes(spec.type)) > poolBytes[size_t(pool)])
          args.rangeError("buffer " + std::to_string(i) + " does not fit its pool");
        if (pool >= 0 && !(inits.Get(uint32_t(i)).IsNull() || inits.Get(uint32_t(i)).IsUndefined()))
          args.rangeError("buffer " + std::to_string(i) + " is pooled and cannot have initial values");
        prog->arena.emplace_back();
        continue;
      }
      const size_t bytes = args.mul(spec.length, elementBytes(spec.type));
      prog->arena.emplace_back(new double[(bytes + 7) / 8 + 1]());
      owned += bytes;
      const Napi::Value init = inits.Get(uint32_t(i));
      if (init.IsNull() || init.IsUndefined()) continue;
      napi_typedarray_type t;
      size_t n = 0;
      void* data = nullptr;
      bool is = false;
      napi_is_typedarray(env, init, &is);
      if (!is || napi_get_typedarray_info(env, init, &t, &n, &data, nullptr, nullptr) != napi_ok ||
          !replayable(t) || bufTypeOf(t) != spec.type || n != spec.length)
        args.typeError("inits[" + std::to_string(i) + "] must be a typed array of the buffer's type and length");
      if (n > 0) std::memcpy(prog->arena.back().get(), data, bytes);
    }
    prog->code.assign(ptr<int32_t>(code), ptr<int32_t>(code) + code.length);
    prog->constants.assign(ptr<double>(consts), ptr<double>(consts) + consts.length);
    const std::string error = mg::validateProgram(*prog);
    if (!error.empty()) args.rangeError("invalid program: " + error);
    Napi::MemoryManagement::AdjustExternalMemory(env, int64_t(owned));
    mg::Program* raw = prog.release();
    return Napi::External<mg::Program>::New(env, raw, [owned](Napi::Env e, mg::Program* p) {
      Napi::MemoryManagement::AdjustExternalMemory(e, -int64_t(owned));
      delete p;
    });
  }

  // replayRun(program, bound typed arrays): runs it; -1, or the check index that failed.
  Napi::Value ReplayRun(const Napi::CallbackInfo& info) {
    Args args(info, "replayRun", 2);
    Napi::Env env = info.Env();
    if (!info[0].IsExternal()) args.typeError("program must come from replayCreate");
    const mg::Program& p = *info[0].As<Napi::External<mg::Program>>().Data();
    if (!info[1].IsArray()) args.typeError("bound must be an array of typed arrays");
    const Napi::Array bound = info[1].As<Napi::Array>();
    if (bound.Length() != p.boundCount)
      args.rangeError("bound must hold " + std::to_string(p.boundCount) + " typed arrays, got " +
                      std::to_string(bound.Length()));
    std::vector<void*> boundPtrs(p.boundCount, nullptr);
    std::vector<size_t> boundLengths(p.boundCount, 0);
    std::vector<mg::BufType> boundTypes(p.boundCount, mg::BufType::F32);
    for (uint32_t i = 0; i < p.boundCount; ++i) {
      const Napi::Value v = bound.Get(i);
      napi_typedarray_type t;
      bool is = false;
      napi_is_typedarray(env, v, &is);
      if (!is || napi_get_typedarray_info(env, v, &t, &boundLengths[i], &boundPtrs[i], nullptr, nullptr) != napi_ok ||
          !replayable(t))
        args.typeError("bound[" + std::to_string(i) + "] must be a Float32Array, Float64Array, Int32Array, Uint32Array or Uint8Array");
      boundTypes[i] = bufTypeOf(t);
    }
    std::vector<void*> ptrs(p.buffers.size(), nullptr);
    for (size_t i = 0; i < p.buffers.size(); ++i) {
      const mg::BufferSpec& s = p.buffers[i];
      if (s.bound < 0) {
        ptrs[i] = s.pool >= 0 ? p.pools[size_t(s.pool)].get() : p.arena[i].get();
        continue;
      }
      const size_t b = size_t(s.bound);
      if (boundTypes[b] != s.type || boundLengths[b] < s.length)
        args.typeError("bound[" + std::to_string(b) + "] must be a typed array of the recorded type with at least " +
                       std::to_string(s.length) + " elements");
      ptrs[i] = boundPtrs[b];
    }
    return Napi::Number::New(env, mg::runProgram(p, ptrs.data(), threads_));
  }

  static View rngState(const Args& args) {
    const View state = args.ofType(0, "state", napi_uint32_array);
    args.needLength(state, mg::kRngStateWords, "state");
    return state;
  }

  int threads_;
};

}  // namespace

NODE_API_ADDON(Addon)
