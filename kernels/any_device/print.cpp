// Kernels of the print op. Printing reads values on the host (a GPU
// tensor is copied over, which waits for its stream), so one implementation
// serves every device. Values are written as tf.print writes them
// (TensorFlow's SummarizeValue, print_v2): the shortest of 6 or 9 digits that
// gives a float32 back (15 or 17 for float64), integers and bools as
// numbers, and only `summarize` elements at each end of every dimension.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/half.h"
#include "core/op_registry.h"
#include "core/op_names.h"

namespace ember::kernels {
namespace {

std::string number(double v, bool is_double) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[40];
  if (is_double) {
    std::snprintf(buf, sizeof buf, "%.15g", v);
    if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof buf, "%.17g", v);
  } else {
    auto f = static_cast<float>(v);
    std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(f));
    if (std::strtof(buf, nullptr) != f) std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(f));
  }
  return buf;
}

std::string element(const Tensor& t, int64_t i) {
  const void* p = t.raw_data();
  switch (t.dtype()) {
    case float32: return number(static_cast<const float*>(p)[i], false);
    case float64: return number(static_cast<const double*>(p)[i], true);
    case float16: return number(static_cast<float>(static_cast<const float16_t*>(p)[i]), false);
    case bfloat16: return number(static_cast<float>(static_cast<const bfloat16_t*>(p)[i]), false);
    case int32: return std::to_string(static_cast<const int32_t*>(p)[i]);
    case int64: return std::to_string(static_cast<const int64_t*>(p)[i]);
    case uint8: return std::to_string(static_cast<const uint8_t*>(p)[i]);
    case bool_: return static_cast<const uint8_t*>(p)[i] ? "1" : "0";
    default: return "?";
  }
}

// TensorFlow's PrintDimSpacing: a space within the last dimension, else a
// newline per dimension below and an indent per dimension above.
void spacing(int dim, int rank, std::string& out) {
  if (dim == rank - 1) {
    out += ' ';
    return;
  }
  out.append(static_cast<size_t>(rank - dim - 1), '\n');
  out.append(static_cast<size_t>(dim + 1), ' ');
}

// TensorFlow's PrintOneDimV2: dimension `dim` of the elements from `at`, `ends` shown at each end.
void print_dim(const Tensor& t, int dim, int64_t ends, int64_t at, std::string& out) {
  const int rank = t.rank();
  if (dim == rank) {
    out += element(t, at);
    return;
  }
  out += '[';
  const int64_t count = t.dim(dim);
  int64_t step = 1;
  for (int d = dim + 1; d < rank; ++d) step *= t.dim(d);
  for (int64_t i = 0; i < ends && i < count; ++i) {
    if (i > 0) spacing(dim, rank, out);
    print_dim(t, dim + 1, ends, at + step * i, out);
  }
  if (count > 2 * ends) {
    spacing(dim, rank, out);
    out += "...";
  }
  for (int64_t i = std::max(ends, count - ends); i < count; ++i) {
    spacing(dim, rank, out);
    print_dim(t, dim + 1, ends, at + step * i, out);
  }
  out += ']';
}

std::string tf_print_text(const Tensor& value, int64_t summarize) {
  Tensor t = value.to(Device::cpu());
  const int64_t n = t.num_elements();
  const int64_t limit = summarize < 0 ? n : std::min(summarize, n);
  if (t.rank() == 0) return n > 0 && limit > 0 ? element(t, 0) : std::string();
  std::string out;
  print_dim(t, 0, limit, 0, out);
  return out;
}

void print_kernel(KernelContext& c) {
  std::string line = c.attrs.get<std::string>("message");
  const int64_t summarize = c.attrs.get<int64_t>("summarize");
  for (size_t i = 1; i < c.inputs.size(); ++i) {
    if (!line.empty()) line += ' ';
    line += tf_print_text(c.inputs[i], summarize);
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
  c.outputs[0] = Tensor(TensorImpl::view_of(*c.inputs[0].impl()));  // passed through
}

EMBER_REGISTER_KERNEL(op_name::Print, CPU, print_kernel);
EMBER_REGISTER_KERNEL(op_name::Print, CUDA, print_kernel);

}  // namespace
}  // namespace ember::kernels
