// The elementwise ops that apply a shared functor (kernels/functors.h), listed
// once for both backends: each backend defines the launchers named here
// (unary_numeric, unary_float, binary_numeric, binary_float, compare,
// binary_bool, binary_integer, unary_integer, count_bits) as templates over
// the functor, and registers the list with
//   #define REG(OP, LAUNCHER, FUNCTOR) EMBER_REGISTER_KERNEL(op_name::OP, CPU, LAUNCHER<FUNCTOR>);
//   EMBER_ELEMENTWISE_FUNCTOR_OPS(REG)
// (or its parts, EMBER_ELEMENTWISE_UNARY_OPS, _ARITHMETIC_OPS,
// _COMPARISON_OPS and _BITWISE_OPS, the last two in one file; the others one
// per file, so that they compile in parallel; CUDA compiles _ARITHMETIC_OPS'
// two halves, _BASIC_ARITHMETIC_OPS and _SPECIAL_BINARY_OPS, apart: as one
// file it was the build's slowest object, about two minutes).
// The ops with kernels of their own (Cast, LogicalNot, SelectV2) register apart.
#pragma once

// clang-format off
#define EMBER_ELEMENTWISE_FUNCTOR_OPS(X) \
  EMBER_ELEMENTWISE_UNARY_OPS(X) EMBER_ELEMENTWISE_ARITHMETIC_OPS(X) EMBER_ELEMENTWISE_COMPARISON_OPS(X) \
  EMBER_ELEMENTWISE_BITWISE_OPS(X)
#define EMBER_ELEMENTWISE_UNARY_OPS(X) \
  X(Neg, unary_numeric, fn::Neg) \
  X(Abs, unary_numeric, fn::Abs) \
  X(Sign, unary_numeric, fn::Sign) \
  X(Exp, unary_float, fn::Exp) \
  X(Log, unary_float, fn::Log) \
  X(Log1p, unary_float, fn::Log1p) \
  X(Expm1, unary_float, fn::Expm1) \
  X(Sqrt, unary_float, fn::Sqrt) \
  X(Rsqrt, unary_float, fn::Rsqrt) \
  X(Square, unary_numeric, fn::Square) \
  X(Reciprocal, unary_float, fn::Reciprocal) \
  X(Sin, unary_float, fn::Sin) \
  X(Cos, unary_float, fn::Cos) \
  X(Tan, unary_float, fn::Tan) \
  X(Asin, unary_float, fn::Asin) \
  X(Acos, unary_float, fn::Acos) \
  X(Atan, unary_float, fn::Atan) \
  X(Sinh, unary_float, fn::Sinh) \
  X(Cosh, unary_float, fn::Cosh) \
  X(Asinh, unary_float, fn::Asinh) \
  X(Acosh, unary_float, fn::Acosh) \
  X(Atanh, unary_float, fn::Atanh) \
  X(Tanh, unary_float, fn::Tanh) \
  X(Sigmoid, unary_float, fn::Sigmoid) \
  X(Relu, unary_numeric, fn::Relu) \
  X(Gelu, unary_float, fn::Gelu) \
  X(LeakyRelu, unary_float, fn::LeakyRelu) \
  X(Elu, unary_float, fn::Elu) \
  X(Selu, unary_float, fn::Selu) \
  X(Softplus, unary_float, fn::Softplus) \
  X(Erf, unary_float, fn::Erf) \
  X(Erfc, unary_float, fn::Erfc) \
  X(Softsign, unary_float, fn::Softsign) \
  X(Lgamma, unary_float, fn::Lgamma) \
  X(Digamma, unary_float, fn::Digamma) \
  X(Erfinv, unary_float, fn::Erfinv) \
  X(Floor, unary_float, fn::Floor) \
  X(Ceil, unary_float, fn::Ceil) \
  X(Round, unary_float, fn::Round)
#define EMBER_ELEMENTWISE_ARITHMETIC_OPS(X) \
  EMBER_ELEMENTWISE_BASIC_ARITHMETIC_OPS(X) EMBER_ELEMENTWISE_SPECIAL_BINARY_OPS(X)
#define EMBER_ELEMENTWISE_BASIC_ARITHMETIC_OPS(X) \
  X(AddV2, binary_numeric, fn::Add) \
  X(Sub, binary_numeric, fn::Sub) \
  X(Mul, binary_numeric, fn::Mul) \
  X(RealDiv, binary_float, fn::Div) \
  X(Div, binary_numeric, fn::Div) \
  X(Pow, binary_numeric, fn::Pow) \
  X(Maximum, binary_numeric, fn::Maximum) \
  X(ReluGrad, binary_numeric, fn::ReluGrad) \
  X(Minimum, binary_numeric, fn::Minimum) \
  X(FloorDiv, binary_numeric, fn::FloorDiv) \
  X(FloorMod, binary_numeric, fn::FloorMod) \
  X(TruncateDiv, binary_numeric, fn::TruncateDiv) \
  X(TruncateMod, binary_numeric, fn::TruncateMod)
#define EMBER_ELEMENTWISE_SPECIAL_BINARY_OPS(X) \
  X(Atan2, binary_float, fn::Atan2) \
  X(DivNoNan, binary_float, fn::DivNoNan) \
  X(Xdivy, binary_float, fn::Xdivy) \
  X(Xlogy, binary_float, fn::Xlogy) \
  X(Xlog1py, binary_float, fn::Xlog1py) \
  X(Polygamma, binary_float, fn::Polygamma) \
  X(Zeta, binary_float, fn::Zeta) \
  X(RandomGammaGrad, binary_float, fn::RandomGammaGrad)
#define EMBER_ELEMENTWISE_COMPARISON_OPS(X) \
  X(Equal, compare, fn::Equal) \
  X(NotEqual, compare, fn::NotEqual) \
  X(Less, compare, fn::Less) \
  X(LessEqual, compare, fn::LessEqual) \
  X(Greater, compare, fn::Greater) \
  X(GreaterEqual, compare, fn::GreaterEqual) \
  X(LogicalAnd, binary_bool, fn::LogicalAnd) \
  X(LogicalOr, binary_bool, fn::LogicalOr)
#define EMBER_ELEMENTWISE_BITWISE_OPS(X) \
  X(BitwiseAnd, binary_integer, fn::BitwiseAnd) \
  X(BitwiseOr, binary_integer, fn::BitwiseOr) \
  X(BitwiseXor, binary_integer, fn::BitwiseXor) \
  X(LeftShift, binary_integer, fn::LeftShift) \
  X(RightShift, binary_integer, fn::RightShift) \
  X(Invert, unary_integer, fn::Invert) \
  X(PopulationCount, count_bits, fn::PopulationCount)
// clang-format on
