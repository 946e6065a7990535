// TensorShape: a list of dimensions, any of which may be unknown (-1, printed
// None), or a shape of unknown rank. Concrete tensors always have a fully
// known shape; traced (symbolic) tensors may not.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "core/small_vector.h"

namespace ember {

using Dims = SmallVector<int64_t, 6>;

class TensorShape {
 public:
  static constexpr int64_t kUnknown = -1;

  TensorShape() = default;  // a scalar: rank 0
  TensorShape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  TensorShape(std::span<const int64_t> dims) : dims_(dims) {}  // NOLINT: implicit
  TensorShape(const std::vector<int64_t>& dims) : dims_(dims.begin(), dims.end()) {}  // NOLINT
  TensorShape(Dims dims) : dims_(std::move(dims)) {}  // NOLINT: implicit
  /// A shape whose rank is not known.
  static TensorShape unknown_rank() {
    TensorShape s;
    s.unknown_rank_ = true;
    return s;
  }
  /// Rank `rank` with every dimension unknown; a negative rank (kUnknown):
  /// an unknown rank.
  static TensorShape unknown_dims(int64_t rank) {
    return rank < 0 ? unknown_rank() : TensorShape(Dims(static_cast<size_t>(rank), kUnknown));
  }

  bool rank_known() const { return !unknown_rank_; }
  /// The number of dimensions. Internal for a shape of unknown rank: code
  /// that may meet one asks rank_known() first (an unknown rank is not a
  /// scalar's).
  int rank() const {
    if (unknown_rank_) [[unlikely]]
      unknown_rank_asked();
    return static_cast<int>(dims_.size());
  }
  /// Dimension `i`; a negative `i` counts from the end, as in Python.
  /// OutOfRange outside [-rank, rank).
  int64_t dim(int i) const {
    const int r = rank();
    if (i < 0) i += r;
    if (i < 0 || i >= r) [[unlikely]]
      out_of_range(i < 0 ? i - r : i);
    return dims_[static_cast<size_t>(i)];
  }
  int64_t operator[](int i) const { return dim(i); }
  void set_dim(int i, int64_t d) { dims_[static_cast<size_t>(i)] = d; }
  const Dims& dims() const { return dims_; }
  std::vector<int64_t> as_vector() const { return {dims_.begin(), dims_.end()}; }

  /// Every dimension and the rank known.
  bool is_fully_defined() const;
  /// Product of the dimensions; -1 where any is unknown. InvalidArgument
  /// when the product does not fit in an int64. (Inline: kernels ask for it
  /// on every call; the unusual cases take the out-of-line path.)
  int64_t num_elements() const {
    int64_t n = 1;
    for (int64_t d : dims_)
      if (d < 0 || __builtin_mul_overflow(n, d, &n)) [[unlikely]]
        return num_elements_slow();
    return unknown_rank_ ? kUnknown : n;
  }
  /// The product, or nothing when it overflows an int64 (-1 where unknown).
  /// Every element count in ember is computed here.
  std::optional<int64_t> checked_num_elements() const;
  /// Same rank and, where both dimensions are known, equal ones.
  bool is_compatible_with(const TensorShape& o) const;
  /// TensorShape.merge_with: the most specific shape both allow (each
  /// unknown dimension, or an unknown rank, taken from the other); nothing
  /// where they are not compatible.
  std::optional<TensorShape> merge_with(const TensorShape& o) const;

  /// "(2, None, 3)", "()" for a scalar, "<unknown>" for unknown rank.
  std::string to_string() const;
  /// "[2,3]": the compact form used in error messages.
  std::string to_debug_string() const;

  friend bool operator==(const TensorShape& a, const TensorShape& b) {
    return a.unknown_rank_ == b.unknown_rank_ && a.dims_ == b.dims_;
  }

 private:
  [[noreturn]] void out_of_range(int i) const;
  [[noreturn]] static void unknown_rank_asked();
  int64_t num_elements_slow() const;

  Dims dims_;
  bool unknown_rank_ = false;
};

std::ostream& operator<<(std::ostream& os, const TensorShape& s);

/// Row-major element strides of a fully known shape.
Dims contiguous_strides(const TensorShape& s);

}  // namespace ember
