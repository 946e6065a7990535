// Tensor: a cheap value handle (shared ownership) to a dense, row-major
// buffer on a device (a concrete tensor), or to an output of a node in a
// graph being traced (a symbolic tensor, whose shape may be partly unknown).
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "core/allocator.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/shape.h"

namespace ember {

/// What graph/ attaches to a symbolic tensor (defined there).
struct SymbolicValue;
/// A tensor's sparse form, tf.IndexedSlices (core/indexed_slices.h).
struct IndexedSlicesForm;

/// What a resource tensor (dtype `resource`) points to, a stateful object (a
/// variable's state), or a variant tensor holds, an immutable value (a
/// TensorList, core/tensor_list.h).
struct ResourceBase {
  virtual ~ResourceBase() = default;
};

struct TensorImpl {
  DType dtype = DType::Float32;
  TensorShape shape;
  Device device;
  std::shared_ptr<Storage> storage;  // null for symbolic tensors
  size_t offset = 0;                 // bytes from storage->data()
  std::shared_ptr<SymbolicValue> symbolic;
  std::shared_ptr<ResourceBase> resource;  // set for dtypes resource and variant
  // Set for a gradient held as rows (IndexedSlices, core/indexed_slices.h).
  // A concrete one has no buffer until something reads its value; a
  // symbolic one is the dense node's output, the rows beside it.
  std::shared_ptr<IndexedSlicesForm> slices;
  uint64_t id = next_id();
  // Serial numbers of (up to two) gradient tapes watching this tensor: the
  // hook autograd/ uses to test "watched?" without a hash lookup. Serials are
  // never reused, so a mark left by a finished tape means nothing. Atomic:
  // tapes on different threads may record the same tensor.
  std::atomic<uint64_t> watch_marks[2] = {0, 0};

  /// A new tensor viewing the same buffer (new id, no symbolic or tape state).
  static std::shared_ptr<TensorImpl> view_of(const TensorImpl& src) {
    auto v = std::make_shared<TensorImpl>();
    v->dtype = src.dtype;
    v->shape = src.shape;
    v->device = src.device;
    v->storage = src.storage;
    v->offset = src.offset;
    v->resource = src.resource;
    if (!src.symbolic) v->slices = src.slices;  // rows not yet made dense stay rows
    return v;
  }

  static uint64_t next_id() {
    static std::atomic<uint64_t> counter{1};
    return counter.fetch_add(1, std::memory_order_relaxed);
  }
};

class Tensor {
 public:
  /// An undefined tensor (a null handle): `defined()` is false.
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  /// A new, uninitialised concrete tensor.
  static Tensor empty(const TensorShape& shape, DType dtype, Device device);

  bool defined() const { return impl_ != nullptr; }
  // The accessors below throw InvalidArgument on an undefined handle, naming
  // the function being called (ApiScope) when there is one.
  DType dtype() const { return checked().dtype; }
  const TensorShape& shape() const { return checked().shape; }
  Device device() const { return checked().device; }
  int rank() const { return checked().shape.rank(); }
  /// Dimension `i`; negative `i` counts from the end (OutOfRange outside the rank).
  int64_t dim(int i) const { return checked().shape.dim(i); }
  int64_t num_elements() const { return checked().shape.num_elements(); }
  size_t nbytes() const { return static_cast<size_t>(num_elements()) * dtype_size(dtype()); }
  bool is_symbolic() const { return checked().symbolic != nullptr; }
  /// A process-unique id (what tapes key on).
  uint64_t id() const { return checked().id; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  /// Whether this handle is the only one to its tensor and that tensor the
  /// only one to its buffer, so writing into the buffer changes no value
  /// anyone else can see (a variable's in-place update).
  bool buffer_is_exclusive() const {
    return impl_ && impl_.use_count() == 1 && impl_->storage && impl_->storage.use_count() == 1;
  }

  /// The first element's address (device memory for a CUDA tensor).
  /// Internal error for a tensor with no buffer (a tape's stand-in for a
  /// forward value no gradient declared); FailedPrecondition for a symbolic one.
  void* raw_data() const {
    const TensorImpl& i = checked();
    if (!i.storage) [[unlikely]]
      return dense_form_data();
    return static_cast<char*>(i.storage->data()) + i.offset;
  }
  template <typename T>
  T* data() const {
    check_dtype(dtype_of_v<std::remove_const_t<T>>, "data");
    return static_cast<T*>(raw_data());
  }

  /// Same buffer, new shape (one dimension may be -1 and is inferred).
  Tensor reshape(const TensorShape& shape) const;
  /// tf.Tensor.set_shape: pins what is known of the shape. A concrete
  /// tensor's shape must be compatible (InvalidArgument otherwise); a traced
  /// one becomes ensure_shape(*this, shape), checked when it runs.
  void set_shape(const TensorShape& shape);
  /// A copy on `device` (this tensor itself when already there).
  Tensor to(Device device) const;
  Tensor to(std::string_view device) const { return to(Device::parse(device)); }
  /// A deep copy on the same device.
  Tensor clone() const;

  /// The values, copied to the host; T must be the tensor's dtype.
  template <typename T>
  std::vector<T> to_vector() const {
    check_dtype(dtype_of_v<T>, "to_vector");
    std::vector<T> out(static_cast<size_t>(host_elements()));
    copy_to_host(out.data());
    return out;
  }
  /// An int32 or int64 tensor's values as int64 (indices, lengths), copied
  /// to the host; no op runs, so it may be called while tracing.
  std::vector<int64_t> index_values() const {
    if (dtype() == DType::Int64) return to_vector<int64_t>();
    std::vector<int32_t> v = to_vector<int32_t>();
    return {v.begin(), v.end()};
  }
  /// The single value of a one-element tensor; T must be the tensor's dtype.
  template <typename T>
  T item() const {
    check_dtype(dtype_of_v<T>, "item");
    EMBER_CHECK(num_elements() == 1, InvalidArgument,
                "[item] expected a tensor of 1 element, got shape ", shape().to_debug_string());
    T v;
    copy_to_host(&v);
    return v;
  }

  /// As TensorFlow prints: `ember.Tensor([1. 2.], shape=(2,), dtype=float32)`.
  std::string to_string() const;

 private:
  void check_dtype(DType wanted, const char* what) const;
  int64_t host_elements() const;
  void copy_to_host(void* dst) const;

  const TensorImpl& checked() const {
    if (!impl_) [[unlikely]]
      throw_undefined();
    return *impl_;
  }
  [[noreturn]] static void throw_undefined();
  [[noreturn]] void throw_no_buffer() const;
  // raw_data of a tensor without a buffer: an IndexedSlices' dense value
  // (made on first read), else throw_no_buffer.
  void* dense_form_data() const;

  std::shared_ptr<TensorImpl> impl_;
};

/// The bytes a dense tensor of `shape` and `dtype` takes, or nothing when the
/// shape is not fully known or the size does not fit in 64 bits.
std::optional<size_t> byte_size(const TensorShape& shape, DType dtype);

std::ostream& operator<<(std::ostream& os, const Tensor& t);
/// The values alone, formatted as NumPy does: "[[1 2]\n [3 4]]".
std::string format_values(const Tensor& t);
/// Bytes as Python's repr writes them, as NumPy prints a bytes array's
/// elements: b'caf\xc3\xa9', b"it's".
std::string bytes_repr(std::string_view bytes);
/// A float as Python's repr writes it: the shortest digits that read back,
/// fixed notation from 1e-4 up to 1e16 (with ".0" when integral), else
/// scientific with a two-digit exponent at least: 123456789.0, 1e-05, 1e+16.
std::string float_repr(double x);

// ---- creation -------------------------------------------------------------

namespace detail {
Tensor make_constant(const void* data, DType dtype, const TensorShape& shape, Device device);
/// `values` converted to `dtype` (floats to integers truncate; bool: != 0).
Tensor make_constant_as(const std::vector<double>& values, DType dtype, const TensorShape& shape,
                        Device device);
/// A copy on `device` outside the dispatch point: how the dispatch point
/// itself moves an op's inputs to the op's device.
Tensor copy_to_device(const Tensor& t, Device device);
}

/// Moves host tensors to one device for a thread that feeds it (the data
/// pipeline's prefetch): onto a GPU through pinned, double-buffered host
/// staging whose copies never wait for the device's queued work; to the CPU
/// (or from a tensor already there) it is `Tensor::to`.
class DeviceFeeder {
 public:
  explicit DeviceFeeder(Device device);
  ~DeviceFeeder();
  DeviceFeeder(const DeviceFeeder&) = delete;
  DeviceFeeder& operator=(const DeviceFeeder&) = delete;
  Tensor feed(const Tensor& t);

 private:
  Device device_;
  struct Staging;
  std::unique_ptr<Staging> staging_;
};

/// A 0-d tensor holding `value`. Floating literals make float32 tensors, as
/// in TensorFlow and libtorch (constant(3.0) is float32); ask for float64
/// with constant(3.0, float64).
template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
Tensor constant(T value, Device device = default_device()) {
  if constexpr (std::is_floating_point_v<T>) {
    auto v = static_cast<float>(value);
    return detail::make_constant(&v, float32, {}, device);
  } else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, int32_t> ||
                       std::is_same_v<T, int64_t> || std::is_same_v<T, uint8_t>) {
    return detail::make_constant(&value, dtype_of_v<T>, {}, device);
  } else {
    int64_t v = static_cast<int64_t>(value);
    return detail::make_constant(&v, int64, {}, device);
  }
}
/// A 0-d tensor of `value` in `dtype`: constant(0.1, float64).
template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
Tensor constant(T value, DType dtype, Device device = default_device()) {
  return detail::make_constant_as({static_cast<double>(value)}, dtype, {}, device);
}
/// A tensor of `values` laid out as `shape` (1-D when no shape is given).
template <typename T>
Tensor constant(const std::vector<T>& values, const TensorShape& shape,
                Device device = default_device()) {
  EMBER_CHECK(
      shape.is_fully_defined() && shape.num_elements() == static_cast<int64_t>(values.size()),
      InvalidArgument, "[constant] ", values.size(), " values do not fill shape ",
      shape.to_debug_string());
  if constexpr (std::is_same_v<T, bool>) {
    std::vector<uint8_t> bytes(values.begin(), values.end());
    return detail::make_constant(bytes.data(), bool_, shape, device);
  } else {
    return detail::make_constant(values.data(), dtype_of_v<T>, shape, device);
  }
}
template <typename T>
Tensor constant(const std::vector<T>& values, Device device = default_device()) {
  return constant(values, TensorShape{static_cast<int64_t>(values.size())}, device);
}
/// A list literal: floating values make float32, as in TensorFlow
/// (constant({1., 2.}) is float32); a std::vector<double> keeps float64, as a
/// NumPy array does.
template <typename T>
Tensor constant(std::initializer_list<T> values, Device device = default_device()) {
  if constexpr (std::is_same_v<T, double>)
    return constant(std::vector<float>(values.begin(), values.end()), device);
  else
    return constant(std::vector<T>(values), device);
}
template <typename T>
Tensor constant(std::initializer_list<T> values, const TensorShape& shape,
                Device device = default_device()) {
  if constexpr (std::is_same_v<T, double>)
    return constant(std::vector<float>(values.begin(), values.end()), shape, device);
  else
    return constant(std::vector<T>(values), shape, device);
}
/// A list in `dtype`: constant({1, 2}, float64).
template <typename T>
Tensor constant(std::initializer_list<T> values, DType dtype, Device device = default_device()) {
  return detail::make_constant_as(std::vector<double>(values.begin(), values.end()), dtype,
                                  TensorShape{static_cast<int64_t>(values.size())}, device);
}
/// A 2-D tensor from nested lists: constant({{1.f, 2.f}, {3.f, 4.f}}).
template <typename T>
Tensor constant(std::initializer_list<std::initializer_list<T>> rows,
                Device device = default_device()) {
  std::vector<T> flat;
  int64_t cols = rows.size() ? static_cast<int64_t>(rows.begin()->size()) : 0;
  for (const auto& r : rows) {
    EMBER_CHECK(static_cast<int64_t>(r.size()) == cols, InvalidArgument,
                "[constant] ragged rows: expected ", cols, " values per row, got ", r.size());
    flat.insert(flat.end(), r.begin(), r.end());
  }
  if constexpr (std::is_same_v<T, double>)  // literals: float32, as above
    return constant(std::vector<float>(flat.begin(), flat.end()),
                    TensorShape{static_cast<int64_t>(rows.size()), cols}, device);
  else
    return constant(flat, TensorShape{static_cast<int64_t>(rows.size()), cols}, device);
}

/// A tensor of `shape` with every element `value` converted to `dtype`.
Tensor fill(const TensorShape& shape, double value, DType dtype = float32,
            Device device = default_device());
Tensor zeros(const TensorShape& shape, DType dtype = float32, Device device = default_device());
Tensor ones(const TensorShape& shape, DType dtype = float32, Device device = default_device());
namespace detail {
Tensor fill_to(const Tensor& shape, double value, DType dtype);
}
/// The same with the shape a 1-D integer tensor, as tf.fill/tf.zeros/tf.ones
/// take one: in a trace it may be computed (`zeros(stack({4 - i, 10}))`),
/// and the dimensions are known when the op runs. (Templates only so that
/// a braced shape, `zeros({2, 3})`, is never taken for a tensor.)
template <std::same_as<Tensor> T>
Tensor fill(const T& shape, double value, DType dtype = float32) {
  return detail::fill_to(shape, value, dtype);
}
template <std::same_as<Tensor> T>
Tensor zeros(const T& shape, DType dtype = float32) {
  return detail::fill_to(shape, 0, dtype);
}
template <std::same_as<Tensor> T>
Tensor ones(const T& shape, DType dtype = float32) {
  return detail::fill_to(shape, 1, dtype);
}
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);

}  // namespace ember
