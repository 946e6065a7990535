// DType: the element types a Tensor can hold, with TensorFlow's names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/half.h"

namespace ember {

enum class DType : uint8_t {
  Float32,
  Float64,
  Int32,
  Int64,
  Bool,
  UInt8,
  Float16,   // IEEE binary16 (float16_t); computed in float32
  BFloat16,  // bfloat16 (bfloat16_t); computed in float32
  Resource,  // a handle to a stateful resource (a Variable); holds no elements
  Variant,   // a value with no elements of its own (a TensorList: TensorArray's state)
};
inline constexpr int kNumDTypes = 10;

inline constexpr DType float32 = DType::Float32;
inline constexpr DType float64 = DType::Float64;
inline constexpr DType int32 = DType::Int32;
inline constexpr DType int64 = DType::Int64;
inline constexpr DType bool_ = DType::Bool;
inline constexpr DType uint8 = DType::UInt8;
inline constexpr DType float16 = DType::Float16;
inline constexpr DType bfloat16 = DType::BFloat16;
inline constexpr DType resource = DType::Resource;
inline constexpr DType variant = DType::Variant;

/// Bytes per element.
constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32:
    case DType::Int32:
      return 4;
    case DType::Float64:
    case DType::Int64:
      return 8;
    case DType::Bool:
    case DType::UInt8:
      return 1;
    case DType::Float16:
    case DType::BFloat16:
      return 2;
    case DType::Resource:
    case DType::Variant:
      return 0;
  }
  return 0;
}

/// TensorFlow's name of the dtype: "float32", "int64", "bool", ...
std::string_view dtype_name(DType t);

constexpr bool is_floating(DType t) {
  return t == DType::Float32 || t == DType::Float64 || t == DType::Float16 || t == DType::BFloat16;
}
/// float16 or bfloat16.
constexpr bool is_half(DType t) { return t == DType::Float16 || t == DType::BFloat16; }
/// The largest finite value of a floating dtype (float16's 65504, bfloat16's ~3.39e38).
constexpr double largest_finite(DType t) {
  return t == DType::Float64    ? 1.7976931348623157e308
         : t == DType::Float16  ? 65504.0
         : t == DType::BFloat16 ? 3.3895313892515355e38
                                : 3.4028234663852886e38;
}
/// The dtype kernels compute `t` in: float32 for the 16-bit floats (as
/// compute_t<T>, core/half.h), `t` itself otherwise.
constexpr DType computed_in(DType t) { return is_half(t) ? DType::Float32 : t; }
/// A dtype gradients flow through: the floating ones, and variant (a list of
/// floating tensors, whose gradient is the list of their gradients).
constexpr bool is_differentiable(DType t) { return is_floating(t) || t == DType::Variant; }
constexpr bool is_integer(DType t) {
  return t == DType::Int32 || t == DType::Int64 || t == DType::UInt8;
}
constexpr bool is_signed_integer(DType t) { return t == DType::Int32 || t == DType::Int64; }
/// A dtype whose tensors hold elements (everything but resource handles and
/// variants). Which ops have kernels for which dtypes: docs/ARCHITECTURE.md.
constexpr bool is_computable(DType t) { return t != DType::Resource && t != DType::Variant; }

/// The C++ type of each dtype, and back.
template <DType T>
struct dtype_traits;
template <>
struct dtype_traits<DType::Float32> {
  using type = float;
};
template <>
struct dtype_traits<DType::Float64> {
  using type = double;
};
template <>
struct dtype_traits<DType::Int32> {
  using type = int32_t;
};
template <>
struct dtype_traits<DType::Int64> {
  using type = int64_t;
};
template <>
struct dtype_traits<DType::Bool> {
  using type = bool;
};
template <>
struct dtype_traits<DType::UInt8> {
  using type = uint8_t;
};

template <>
struct dtype_traits<DType::Float16> {
  using type = float16_t;
};
template <>
struct dtype_traits<DType::BFloat16> {
  using type = bfloat16_t;
};

template <typename T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DType value = DType::Float32;
};
template <>
struct dtype_of<double> {
  static constexpr DType value = DType::Float64;
};
template <>
struct dtype_of<int32_t> {
  static constexpr DType value = DType::Int32;
};
template <>
struct dtype_of<int64_t> {
  static constexpr DType value = DType::Int64;
};
template <>
struct dtype_of<bool> {
  static constexpr DType value = DType::Bool;
};
template <>
struct dtype_of<uint8_t> {
  static constexpr DType value = DType::UInt8;
};
template <>
struct dtype_of<float16_t> {
  static constexpr DType value = DType::Float16;
};
template <>
struct dtype_of<bfloat16_t> {
  static constexpr DType value = DType::BFloat16;
};
template <typename T>
inline constexpr DType dtype_of_v = dtype_of<T>::value;

}  // namespace ember

// Calls BODY with `scalar_t` bound to the C++ type of DTYPE; any other dtype
// runs ON_OTHER (in a kernel: ember::unsupported_dtype, never a silent skip).
//   EMBER_SWITCH_ALL       every dtype with elements, the 16-bit floats included
//   EMBER_SWITCH_NUMERIC   float32/64, int32/64, uint8 (no bool, no 16-bit floats)
//   EMBER_SWITCH_ARITH     EMBER_SWITCH_NUMERIC and the 16-bit floats
//   EMBER_SWITCH_FLOAT     float32, float64
//   EMBER_SWITCH_FLOATING  float32, float64 and the 16-bit floats
// Kernels run the 16-bit floats through float32 (fn::computed_as).
#define EMBER_DTYPE_CASE(DT, CT, ...) \
  case ::ember::DType::DT: {          \
    using scalar_t = CT;              \
    __VA_ARGS__;                      \
    break;                            \
  }
#define EMBER_HALF_CASES(...)                                  \
  EMBER_DTYPE_CASE(Float16, ::ember::float16_t, __VA_ARGS__) \
  EMBER_DTYPE_CASE(BFloat16, ::ember::bfloat16_t, __VA_ARGS__)
#define EMBER_NUMERIC_CASES(...)                   \
  EMBER_DTYPE_CASE(Float32, float, __VA_ARGS__)  \
  EMBER_DTYPE_CASE(Float64, double, __VA_ARGS__) \
  EMBER_DTYPE_CASE(Int32, int32_t, __VA_ARGS__)  \
  EMBER_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)  \
  EMBER_DTYPE_CASE(UInt8, uint8_t, __VA_ARGS__)
#define EMBER_SWITCH_ALL(DTYPE, ON_OTHER, ...)   \
  switch (DTYPE) {                               \
    EMBER_NUMERIC_CASES(__VA_ARGS__)             \
    EMBER_DTYPE_CASE(Bool, bool, __VA_ARGS__)    \
    EMBER_HALF_CASES(__VA_ARGS__)                \
    default:                                     \
      ON_OTHER;                                  \
  }
#define EMBER_SWITCH_NUMERIC(DTYPE, ON_OTHER, ...) \
  switch (DTYPE) {                                 \
    EMBER_NUMERIC_CASES(__VA_ARGS__)               \
    default:                                       \
      ON_OTHER;                                    \
  }
#define EMBER_SWITCH_ARITH(DTYPE, ON_OTHER, ...) \
  switch (DTYPE) {                               \
    EMBER_NUMERIC_CASES(__VA_ARGS__)             \
    EMBER_HALF_CASES(__VA_ARGS__)                \
    default:                                     \
      ON_OTHER;                                  \
  }
#define EMBER_SWITCH_FLOAT(DTYPE, ON_OTHER, ...)   \
  switch (DTYPE) {                                 \
    EMBER_DTYPE_CASE(Float32, float, __VA_ARGS__)  \
    EMBER_DTYPE_CASE(Float64, double, __VA_ARGS__) \
    default:                                       \
      ON_OTHER;                                    \
  }
/// The index dtypes (labels, indices): int32 and int64.
#define EMBER_SWITCH_INDEX(DTYPE, ON_OTHER, ...)   \
  switch (DTYPE) {                                 \
    EMBER_DTYPE_CASE(Int32, int32_t, __VA_ARGS__)  \
    EMBER_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)  \
    default:                                       \
      ON_OTHER;                                    \
  }
/// The integer dtypes (the bitwise ops): int32, int64, uint8.
#define EMBER_SWITCH_INTEGER(DTYPE, ON_OTHER, ...)  \
  switch (DTYPE) {                                 \
    EMBER_DTYPE_CASE(Int32, int32_t, __VA_ARGS__)  \
    EMBER_DTYPE_CASE(Int64, int64_t, __VA_ARGS__)  \
    EMBER_DTYPE_CASE(UInt8, uint8_t, __VA_ARGS__)  \
    default:                                       \
      ON_OTHER;                                    \
  }
#define EMBER_SWITCH_FLOATING(DTYPE, ON_OTHER, ...) \
  switch (DTYPE) {                                  \
    EMBER_DTYPE_CASE(Float32, float, __VA_ARGS__)   \
    EMBER_DTYPE_CASE(Float64, double, __VA_ARGS__)  \
    EMBER_HALF_CASES(__VA_ARGS__)                   \
    default:                                        \
      ON_OTHER;                                     \
  }
