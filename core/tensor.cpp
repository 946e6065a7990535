#include "core/tensor.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "core/context.h"
#include "core/cuda_runtime.h"
#include "core/op_registry.h"
#include "core/op_names.h"

namespace ember {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::Float32:
      return "float32";
    case DType::Float64:
      return "float64";
    case DType::Int32:
      return "int32";
    case DType::Int64:
      return "int64";
    case DType::Bool:
      return "bool";
    case DType::UInt8:
      return "uint8";
    case DType::Float16:
      return "float16";
    case DType::BFloat16:
      return "bfloat16";
    case DType::Resource:
      return "resource";
    case DType::Variant:
      return "variant";
  }
  return "?";
}

std::optional<size_t> byte_size(const TensorShape& shape, DType dtype) {
  if (!shape.is_fully_defined()) return std::nullopt;
  std::optional<int64_t> n = shape.checked_num_elements();
  int64_t bytes = 0;
  if (!n || __builtin_mul_overflow(*n, static_cast<int64_t>(dtype_size(dtype)), &bytes))
    return std::nullopt;
  return static_cast<size_t>(bytes);
}

Tensor Tensor::empty(const TensorShape& shape, DType dtype, Device device) {
  std::optional<size_t> bytes = byte_size(shape, dtype);
  if (!bytes) [[unlikely]] {
    const char* api = context().api ? context().api : "empty";
    EMBER_CHECK(shape.is_fully_defined(), InvalidArgument, "[", api,
                "] a concrete tensor needs a fully known shape, got ", shape.to_string());
    throw InvalidArgument(detail::str_cat("[", api, "] a tensor of shape ",
                                          shape.to_debug_string(), " and dtype ",
                                          dtype_name(dtype), " is too large to address"));
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->dtype = dtype;
  impl->shape = shape;
  impl->device = device;
  impl->storage = std::make_shared<Storage>(allocator_for(device), *bytes);
  return Tensor(std::move(impl));
}

void Tensor::throw_no_buffer() const {
  const Context& ctx = context();
  if (is_symbolic())
    throw FailedPrecondition(detail::str_cat(
        "[", ctx.api ? ctx.api : "Tensor",
        "] a symbolic tensor has no value while tracing; use ember::print to see values at run time"));
  if (ctx.gradient_of)
    throw Internal(detail::str_cat(
        "[gradient of ", ctx.gradient_of->name, "] the gradient read a forward value of op ",
        ctx.gradient_of->name, " that its GRAD declaration does not keep (GradUses); declare it"));
  throw Internal(detail::str_cat("[", ctx.api ? ctx.api : "Tensor", "] the tensor has no buffer"));
}

void Tensor::throw_undefined() {
  const char* api = context().api;
  throw InvalidArgument(detail::str_cat("[", api ? api : "Tensor",
                                        "] the tensor is an empty Tensor handle"));
}

Tensor Tensor::reshape(const TensorShape& shape) const {
  std::vector<int64_t> dims = shape.as_vector();
  return execute1(EMBER_OP(op_name::Reshape), {*this}, {{"shape", dims}});
}

// Both go through the dispatch point (Identity on the target device, and
// Snapshot), so tapes record them and traces will see them.
Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  DeviceScope scope(device);
  return execute1(EMBER_OP(op_name::Identity), {*this});
}

Tensor Tensor::clone() const { return execute1(EMBER_OP(op_name::Snapshot), {*this}); }

namespace detail {
Tensor copy_to_device(const Tensor& t, Device device) {
  EMBER_CHECK(!t.is_symbolic(), Unimplemented, "[to] copying a symbolic tensor between devices");
  Tensor out = Tensor::empty(t.shape(), t.dtype(), device);
  copy_bytes(out.raw_data(), device, t.raw_data(), t.device(), t.nbytes());
  return out;
}
}  // namespace detail

struct DeviceFeeder::Staging {
  explicit Staging(int index) : upload(index) {}
  cuda::UploadStaging upload;
};

DeviceFeeder::DeviceFeeder(Device device) : device_(device) {
  if (device.is_cuda()) staging_ = std::make_unique<Staging>(device.index());
}
DeviceFeeder::~DeviceFeeder() = default;

Tensor DeviceFeeder::feed(const Tensor& t) {
  if (!staging_ || !t.device().is_cpu() || t.is_symbolic()) return t.to(device_);
  Tensor out = Tensor::empty(t.shape(), t.dtype(), device_);
  staging_->upload.upload(out.raw_data(), t.raw_data(), t.nbytes());
  return out;
}

void Tensor::check_dtype(DType wanted, const char* what) const {
  EMBER_CHECK(defined(), InvalidArgument, "[", what, "] the tensor is undefined");
  EMBER_CHECK(dtype() == wanted, InvalidArgument, "[", what, "] the tensor is ",
              dtype_name(dtype()), ", not ", dtype_name(wanted));
}

int64_t Tensor::host_elements() const {
  EMBER_CHECK(!is_symbolic(), FailedPrecondition,
              "[to_vector] a symbolic tensor has no value while tracing; use ember::print to see "
              "values at run time");
  return num_elements();
}

void Tensor::copy_to_host(void* dst) const {
  copy_bytes(dst, Device::cpu(), raw_data(), device(), nbytes());
}

namespace detail {
Tensor make_constant_as(const std::vector<double>& values, DType dtype, const TensorShape& shape,
                        Device device) {
  Tensor t = Tensor::empty(shape, dtype, Device::cpu());
  EMBER_SWITCH_ALL(dtype,
                   throw InvalidArgument(detail::str_cat("[constant] no constant of dtype ",
                                                         dtype_name(dtype))),
                   {
                     auto* p = static_cast<scalar_t*>(t.raw_data());
                     for (size_t i = 0; i < values.size(); ++i)
                       p[i] = static_cast<scalar_t>(values[i]);
                   });
  return device == Device::cpu() ? t : detail::copy_to_device(t, device);
}

Tensor make_constant(const void* data, DType dtype, const TensorShape& shape, Device device) {
  Tensor t = Tensor::empty(shape, dtype, device);
  copy_bytes(t.raw_data(), device, data, Device::cpu(), t.nbytes());
  return t;
}
}  // namespace detail

// ---- printing, as NumPy formats arrays -------------------------------------

namespace {

template <typename T>
std::string shortest(T v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

// One float as NumPy prints it inside an array: at most 8 fractional
// digits, shortest round-trip otherwise, "1." for integral values.
template <typename T>
std::string format_float(T v, bool scientific) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (scientific) {  // shortest mantissa; format_cells pads the mantissas to one length
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string s(buf, res.ptr);
    // NumPy's precision is 8: a mantissa needing more digits is rounded to 8.
    auto dot = s.find('.'), e = s.find('e');
    if (dot != std::string::npos && e - dot - 1 > 8) {
      std::snprintf(buf, sizeof buf, "%.8e", static_cast<double>(v));
      s = buf;
    }
    return s;
  }
  std::string s = shortest(v);
  if (s.find('e') != std::string::npos || [&] {
        auto dot = s.find('.');
        return dot != std::string::npos && s.size() - dot - 1 > 8;
      }()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.8f", static_cast<double>(v));
    s = buf;
    while (!s.empty() && s.back() == '0') s.pop_back();
  }
  if (s.find('.') == std::string::npos) s += '.';
  return s;
}

template <typename T>
std::vector<std::string> format_cells(const std::vector<T>& vals) {
  std::vector<std::string> out;
  out.reserve(vals.size());
  if constexpr (std::is_floating_point_v<T>) {
    T max_abs = 0, min_abs = std::numeric_limits<T>::infinity();
    for (T v : vals) {
      if (!std::isfinite(v)) continue;
      max_abs = std::max(max_abs, std::abs(v));
      if (v != 0) min_abs = std::min(min_abs, std::abs(v));
    }
    bool sci = max_abs >= T(1e8) || (min_abs < T(1e-4) && min_abs > 0) ||
               (min_abs > 0 && max_abs / min_abs > T(1e3));
    for (T v : vals) out.push_back(format_float(v, sci));
    if (sci) {
      // NumPy: every mantissa gets the same number of fractional digits ("1.e-05", "1.5e-05").
      size_t frac = 0;
      for (auto& s : out) {
        auto e = s.find('e');
        if (e == std::string::npos) continue;
        auto dot = s.find('.');
        frac = std::max(frac, dot == std::string::npos || dot > e ? size_t{0} : e - dot - 1);
      }
      // ... and every exponent the same number of digits (at least two: "e+00", "e-324").
      size_t exp_digits = 2;
      for (auto& s : out) {
        auto e = s.find('e');
        if (e != std::string::npos) exp_digits = std::max(exp_digits, s.size() - e - 2);
      }
      for (auto& s : out) {
        auto e = s.find('e');
        if (e == std::string::npos) continue;
        std::string mant = s.substr(0, e), exp = s.substr(e);
        size_t digits = exp.size() - 2;  // after "e+" / "e-"
        exp = exp.substr(0, 2) + std::string(exp_digits > digits ? exp_digits - digits : 0, '0') +
              exp.substr(2);
        auto dot = mant.find('.');
        if (dot == std::string::npos) {
          mant += '.';
          dot = mant.size() - 1;
        }
        mant += std::string(frac - (mant.size() - dot - 1), '0');
        s = mant + exp;
      }
      // Right-justified to one width (a minus sign, inf, nan), as NumPy pads.
      size_t width = 0;
      for (auto& s : out) width = std::max(width, s.size());
      for (auto& s : out) s = std::string(width - s.size(), ' ') + s;
      return out;
    }
    // Pad so the decimal points line up: integer parts on the left, fractions on the right.
    size_t int_w = 0, frac_w = 0;
    for (auto& s : out) {
      auto dot = s.find('.');
      if (dot == std::string::npos || s.find('e') != std::string::npos) continue;
      int_w = std::max(int_w, dot);
      frac_w = std::max(frac_w, s.size() - dot - 1);
    }
    for (auto& s : out) {
      auto dot = s.find('.');
      if (dot == std::string::npos || s.find('e') != std::string::npos) continue;
      s = std::string(int_w - dot, ' ') + s + std::string(frac_w - (s.size() - dot - 1), ' ');
    }
  } else if constexpr (std::is_same_v<T, bool>) {
    for (bool v : vals) out.push_back(v ? " True" : "False");
  } else {
    size_t w = 0;
    for (T v : vals) {
      out.push_back(std::to_string(static_cast<int64_t>(v)));
      w = std::max(w, out.back().size());
    }
    for (auto& s : out) s = std::string(w - s.size(), ' ') + s;
  }
  return out;
}

constexpr int64_t kSummarizeThreshold = 1000;
constexpr int64_t kEdgeItems = 3;
constexpr int64_t kLineWidth = 75;

// NumPy's _extendLine: wraps before a word that would pass the width
// (unless the line holds nothing but its prefix).
void extend_line(std::string& s, std::string& line, const std::string& word, int64_t width,
                 const std::string& prefix) {
  bool wrap = static_cast<int64_t>(line.size() + word.size()) > width && line.size() > prefix.size();
  if (wrap) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    s += line + "\n";
    line = prefix;
  }
  line += word;
}

// NumPy's _formatArray (array_str: separator ' ', line width 75), with
// `cells` the formatted elements in row-major order.
struct ArrayFormatter {
  const std::vector<std::string>& cells;
  const TensorShape& shape;
  Dims strides;
  bool summarize;

  std::string recurse(int axis, int64_t offset, const std::string& hanging, int64_t width) const {
    if (axis == shape.rank()) return cells[static_cast<size_t>(offset)];
    std::string next_hanging = hanging + " ";
    int64_t next_width = width - 1;
    int64_t n = shape.dim(axis), stride = strides[static_cast<size_t>(axis)];
    bool summary = summarize && n > 2 * kEdgeItems;
    int64_t leading = summary ? kEdgeItems : 0, trailing = summary ? kEdgeItems : n;
    auto item = [&](int64_t i) { return recurse(axis + 1, offset + i * stride, next_hanging, next_width); };
    std::string s;
    if (axis == shape.rank() - 1) {
      int64_t elem_width = width - 1;
      std::string line = hanging;
      for (int64_t i = 0; i < leading; ++i) {
        extend_line(s, line, item(i), elem_width, hanging);
        line += ' ';
      }
      if (summary) {
        extend_line(s, line, "...", elem_width, hanging);
        line += ' ';
      }
      for (int64_t i = trailing; i > 1; --i) {
        extend_line(s, line, item(n - i), elem_width, hanging);
        line += ' ';
      }
      extend_line(s, line, item(n - 1), elem_width, hanging);
      s += line;
    } else {
      std::string line_sep(static_cast<size_t>(shape.rank() - axis - 1), '\n');
      for (int64_t i = 0; i < leading; ++i) s += hanging + item(i) + line_sep;
      if (summary) s += hanging + "..." + line_sep;
      for (int64_t i = trailing; i > 1; --i) s += hanging + item(n - i) + line_sep;
      s += hanging + item(n - 1);
    }
    return "[" + s.substr(hanging.size()) + "]";
  }
};

// Whether element `flat` is shown when an array is summarised (its index
// along every long axis is among the first or last kEdgeItems).
bool shown(int64_t flat, const TensorShape& shape) {
  for (int i = shape.rank() - 1; i >= 0; --i) {
    int64_t n = shape.dim(i), idx = flat % n;
    flat /= n;
    if (n > 2 * kEdgeItems && idx >= kEdgeItems && idx < n - kEdgeItems) return false;
  }
  return true;
}

template <typename T>
std::string format_typed(const Tensor& t);

// The 16-bit floats print as the float32 values they hold exactly.
template <typename H>
std::string format_half(const Tensor& t) {
  std::vector<H> h = t.to_vector<H>();
  std::vector<float> f(h.size());
  for (size_t i = 0; i < h.size(); ++i) f[i] = static_cast<float>(h[i]);
  return format_typed<float>(constant(f, t.shape(), Device::cpu()));
}

template <typename T>
std::string format_typed(const Tensor& t) {
  std::vector<T> vals;
  if constexpr (std::is_same_v<T, bool>) {
    auto raw = t.reshape({-1}).to(Device::cpu());
    const uint8_t* p = static_cast<const uint8_t*>(raw.raw_data());
    vals.assign(p, p + t.num_elements());
  } else {
    vals = t.to_vector<T>();
  }
  if (t.rank() == 0) {
    if constexpr (std::is_floating_point_v<T>) {
      T v = vals[0];
      if (std::isnan(v)) return "nan";
      if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
      std::string s = shortest(v);
      if (s.find_first_of(".e") == std::string::npos) s += ".0";
      return s;
    } else if constexpr (std::is_same_v<T, bool>) {
      return vals[0] ? "True" : "False";
    } else {
      return std::to_string(static_cast<int64_t>(vals[0]));
    }
  }
  if (t.num_elements() == 0) return "[]";
  bool summarize = t.num_elements() > kSummarizeThreshold;
  // As NumPy, widths and notation come from the elements that are shown.
  std::vector<std::string> cells(vals.size());
  if (summarize) {
    std::vector<T> visible;
    std::vector<size_t> where;
    for (size_t i = 0; i < vals.size(); ++i)
      if (shown(static_cast<int64_t>(i), t.shape())) {
        visible.push_back(vals[i]);
        where.push_back(i);
      }
    auto formatted = format_cells(visible);
    for (size_t k = 0; k < where.size(); ++k) cells[where[k]] = std::move(formatted[k]);
  } else {
    cells = format_cells(vals);
  }
  ArrayFormatter f{cells, t.shape(), contiguous_strides(t.shape()), summarize};
  return f.recurse(0, 0, " ", kLineWidth);
}

}  // namespace

std::string float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  (void)ec;
  std::string sci(buf, end);  // "-d.ddde+XX"
  std::string sign;
  if (sci[0] == '-') sign = "-", sci.erase(0, 1);
  size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exponent = std::stoi(sci.substr(e + 1));
  const int point = exponent + 1;  // digits before the decimal point
  if (point > -4 && point <= 16) {
    if (point <= 0) return sign + "0." + std::string(static_cast<size_t>(-point), '0') + digits;
    if (static_cast<size_t>(point) >= digits.size())
      return sign + digits + std::string(static_cast<size_t>(point) - digits.size(), '0') + ".0";
    return sign + digits.substr(0, static_cast<size_t>(point)) + "." + digits.substr(static_cast<size_t>(point));
  }
  std::string mantissa = digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "");
  const int mag = std::abs(exponent);
  return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (mag < 10 ? "0" : "") + std::to_string(mag);
}

std::string bytes_repr(std::string_view bytes) {
  char quote = bytes.find('\'') != std::string_view::npos && bytes.find('"') == std::string_view::npos
                   ? '"'
                   : '\'';
  std::string out = "b";
  out += quote;
  for (unsigned char c : bytes) {
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  return out;
}

std::string format_values(const Tensor& t) {
  if (!t.defined()) return "<undefined>";
  if (t.is_symbolic()) return "<symbolic>";
  std::string out;
  EMBER_SWITCH_ALL(t.dtype(), out = "<" + std::string(dtype_name(t.dtype())) + " values>",
                   if constexpr (is_half_v<scalar_t>) out = format_half<scalar_t>(t);
                   else out = format_typed<scalar_t>(t));
  return out;
}

std::string Tensor::to_string() const {
  if (!defined()) return "ember.Tensor(<undefined>)";
  std::ostringstream os;
  if (is_symbolic()) {
    os << "ember.Tensor(<symbolic>, shape=" << shape() << ", dtype=" << dtype_name(dtype()) << ")";
  } else {
    std::string v = format_values(*this);
    // As TensorFlow: a value spanning several lines starts on a line of its own.
    os << "ember.Tensor(" << (v.find('\n') != std::string::npos ? "\n" : "") << v
       << ", shape=" << shape() << ", dtype=" << dtype_name(dtype()) << ")";
  }
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

}  // namespace ember
