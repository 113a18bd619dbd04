// Operation codes shared with ts/tensor/native.ts; test/op-tables.test.ts checks that the two agree.
#pragma once

namespace mg {

enum class UnaryOp : int {
  Neg = 0, Exp = 1, Log = 2, Sqrt = 3, Abs = 4, Tanh = 5, Sigmoid = 6, Relu = 7, Softplus = 8,
  Square = 9, Sign = 10, Sin = 11, Cos = 12, Reciprocal = 13, Step = 14, Log1p = 15, Expm1 = 16,
};
constexpr int kUnaryOpCount = 17;

enum class BinaryOp : int {
  Add = 0, Sub = 1, Mul = 2, Div = 3, Pow = 4, Maximum = 5, Minimum = 6,
  Gt = 7, Lt = 8, Ge = 9, Le = 10, Eq = 11,
  TanhGrad = 12, SigmoidGrad = 13, ReluGrad = 14,
};
constexpr int kBinaryOpCount = 15;

enum class ReduceOp : int { Sum = 0, Max = 1, Min = 2, Prod = 3 };
constexpr int kReduceOpCount = 4;

enum class SolveMethod : int { Lu = 0, Cholesky = 1, Qr = 2 };
constexpr int kSolveMethodCount = 3;

}  // namespace mg
