#include "serialization/tf_proto.h"

#include <cctype>

#include "serialization/bundle.h"

namespace ember::tfproto {

namespace tf = tensorflow;

tf::DataType data_type(DType t) {
  if (t == resource) return tf::DT_RESOURCE;
  if (t == variant) return tf::DT_VARIANT;
  return static_cast<tf::DataType>(bundle::tf_dtype(t));
}

void set_shape(tf::TensorShapeProto* p, const TensorShape& s) {
  if (!s.rank_known()) {
    p->set_unknown_rank(true);
    return;
  }
  for (int64_t d : s.dims()) p->add_dim()->set_size(d == TensorShape::kUnknown ? -1 : d);
}

TensorShape shape_of(const tf::TensorShapeProto& p) {
  if (p.unknown_rank()) return TensorShape::unknown_rank();
  std::vector<int64_t> dims;
  for (const auto& d : p.dim()) dims.push_back(d.size() < 0 ? TensorShape::kUnknown : d.size());
  return TensorShape(dims);
}

tf::NodeDef string_const(const std::string& name, const std::vector<std::string>& values) {
  tf::NodeDef n;
  n.set_name(name);
  n.set_op("Const");
  (*n.mutable_attr())["dtype"].set_type(tf::DT_STRING);
  auto* t = (*n.mutable_attr())["value"].mutable_tensor();
  t->set_dtype(tf::DT_STRING);
  t->mutable_tensor_shape()->add_dim()->set_size(static_cast<int64_t>(values.size()));
  for (const std::string& v : values) t->add_string_val(v);
  return n;
}

tf::NodeDef const_node(const std::string& name, const Tensor& value) {
  Tensor host = value.to(Device::cpu());
  tf::NodeDef n;
  n.set_name(name);
  n.set_op("Const");
  (*n.mutable_attr())["dtype"].set_type(data_type(host.dtype()));
  tf::TensorProto* p = (*n.mutable_attr())["value"].mutable_tensor();
  p->set_dtype(data_type(host.dtype()));
  set_shape(p->mutable_tensor_shape(), host.shape());
  if (host.num_elements() > 0) p->set_tensor_content(std::string(static_cast<const char*>(host.raw_data()), host.nbytes()));
  return n;
}

std::string arg_name(const std::string& s) {
  std::string out;
  for (char c : s)
    out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : '_';
  if (out.empty() || !std::isalpha(static_cast<unsigned char>(out[0]))) out = "a" + out;
  return out;
}

}  // namespace ember::tfproto
