// Conversions between ember's types and TensorFlow's protos that the
// GraphDef writer, the importer and SavedModel share. Internal to
// serialization/ (it includes the generated graph.pb.h).
#pragma once

#include <string>
#include <vector>

#include "core/shape.h"
#include "core/tensor.h"
#include "graph.pb.h"

namespace ember::tfproto {

/// TensorFlow's DataType of an ember dtype (DT_RESOURCE, DT_VARIANT included).
tensorflow::DataType data_type(DType t);
/// `s` into `p` (unknown dimensions -1, unknown rank as such).
void set_shape(tensorflow::TensorShapeProto* p, const TensorShape& s);
/// The shape `p` describes (-1: an unknown dimension).
TensorShape shape_of(const tensorflow::TensorShapeProto& p);
/// A Const node `name` holding `value`.
tensorflow::NodeDef const_node(const std::string& name, const Tensor& value);
/// A DT_STRING Const node `name` holding `values` (a vector): ember has no
/// string tensors, but TensorFlow's files hold such constants (a saver's
/// tensor names, an Assert's message).
tensorflow::NodeDef string_const(const std::string& name, const std::vector<std::string>& values);
/// A TensorFlow argument name made of `s`: lower case letters, digits and
/// '_', starting with a letter.
std::string arg_name(const std::string& s);

}  // namespace ember::tfproto
