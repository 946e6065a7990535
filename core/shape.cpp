#include "core/shape.h"

#include <sstream>

#include "core/context.h"
#include "core/error.h"

namespace ember {

bool TensorShape::is_fully_defined() const {
  if (unknown_rank_) return false;
  for (int64_t d : dims_)
    if (d < 0) return false;
  return true;
}

std::optional<int64_t> TensorShape::checked_num_elements() const {
  if (unknown_rank_) return kUnknown;
  int64_t n = 1;
  bool unknown = false;
  for (int64_t d : dims_) {
    if (d < 0) {
      unknown = true;
      continue;
    }
    // As TensorFlow: a zero dimension makes the count 0 whatever follows,
    // but each partial product must fit.
    if (__builtin_mul_overflow(n, d, &n)) return std::nullopt;
  }
  return unknown ? kUnknown : n;
}

int64_t TensorShape::num_elements_slow() const {
  std::optional<int64_t> n = checked_num_elements();
  if (!n) [[unlikely]]
    throw InvalidArgument(detail::str_cat("[", context().api ? context().api : "shape", "] shape ",
                                          to_debug_string(),
                                          " has more elements than an int64 can count"));
  return *n;
}

void TensorShape::out_of_range(int i) const {
  throw OutOfRange(detail::str_cat("[shape] dimension ", i, " is out of range for shape ",
                                   to_debug_string(), " of rank ", rank(), " (expected [",
                                   -rank(), ", ", rank(), "))"));
}

void TensorShape::unknown_rank_asked() {
  throw Internal("[shape] the rank of a shape of unknown rank was asked for");
}

bool TensorShape::is_compatible_with(const TensorShape& o) const {
  if (unknown_rank_ || o.unknown_rank_) return true;
  if (rank() != o.rank()) return false;
  for (int i = 0; i < rank(); ++i)
    if (dim(i) >= 0 && o.dim(i) >= 0 && dim(i) != o.dim(i)) return false;
  return true;
}

std::optional<TensorShape> TensorShape::merge_with(const TensorShape& o) const {
  if (unknown_rank_) return o;
  if (o.unknown_rank_) return *this;
  if (!is_compatible_with(o)) return std::nullopt;
  TensorShape r = *this;
  for (int i = 0; i < rank(); ++i)
    if (r.dim(i) == kUnknown) r.set_dim(i, o.dim(i));
  return r;
}

std::string TensorShape::to_string() const {
  if (unknown_rank_) return "<unknown>";
  std::ostringstream os;
  os << '(';
  for (int i = 0; i < rank(); ++i) {
    if (i) os << ", ";
    if (dim(i) < 0)
      os << "None";
    else
      os << dim(i);
  }
  if (rank() == 1) os << ',';
  os << ')';
  return os.str();
}

std::string TensorShape::to_debug_string() const {
  if (unknown_rank_) return "<unknown>";
  std::ostringstream os;
  os << '[';
  for (int i = 0; i < rank(); ++i) {
    if (i) os << ',';
    if (dim(i) < 0)
      os << '?';
    else
      os << dim(i);
  }
  os << ']';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const TensorShape& s) { return os << s.to_string(); }

Dims contiguous_strides(const TensorShape& s) {
  Dims st(static_cast<size_t>(s.rank()), 1);
  // Modulo 2^64: a stride can only overflow in a tensor of no elements (a
  // zero dimension after huge ones), where no stride is ever used.
  uint64_t acc = 1;
  for (int i = s.rank() - 1; i >= 0; --i) {
    st[static_cast<size_t>(i)] = static_cast<int64_t>(acc);
    acc *= static_cast<uint64_t>(s.dim(i));
  }
  return st;
}

}  // namespace ember
