// ember-ckpt: looks inside a checkpoint, as TensorFlow's inspect_checkpoint.
//   ember-ckpt PREFIX                 every key with its dtype and shape
//   ember-ckpt PREFIX --tensor KEY    one tensor's values
//   ember-ckpt PREFIX --graph         the object graph
// PREFIX may also be a directory holding a `checkpoint` state file.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "ember.h"
#include "serialization/bundle.h"
#include "trackable_object_graph.pb.h"

namespace {

using namespace ember;

std::string shape_of(const TensorShape& s) { return s.to_debug_string(); }

void print_tensor(const bundle::Reader& r, const std::string& key) {
  SavedTensor t = r.read(key);
  if (t.is_string) {
    if (key == "_CHECKPOINTABLE_OBJECT_GRAPH") {
      std::cout << "<serialized TrackableObjectGraph, " << t.strings[0].size()
                << " bytes; use --graph>\n";
      return;
    }
    std::cout << "[";
    for (size_t i = 0; i < t.strings.size(); ++i)
      std::cout << (i ? " " : "") << bytes_repr(t.strings[i]);
    std::cout << "]\n";
    return;
  }
  if (is_half(t.dtype)) {
    std::cout << "<" << dtype_name(t.dtype) << " values: " << t.bytes.size() << " bytes>\n";
    return;
  }
  Tensor host = Tensor::empty(t.shape, t.dtype, Device::cpu());
  if (!t.bytes.empty()) std::memcpy(host.raw_data(), t.bytes.data(), t.bytes.size());
  std::cout << format_values(host) << "\n";
}

void print_graph(const bundle::Reader& r) {
  tensorflow::TrackableObjectGraph g;
  SavedTensor t = r.read("_CHECKPOINTABLE_OBJECT_GRAPH");
  if (!t.is_string || t.strings.size() != 1 || !g.ParseFromString(t.strings[0]))
    throw DataLoss("[ember-ckpt] the object graph does not parse");
  for (int i = 0; i < g.nodes_size(); ++i) {
    const auto& n = g.nodes(i);
    std::cout << "node " << i << (i == 0 ? " (root)" : "") << "\n";
    for (const auto& c : n.children())
      std::cout << "  child '" << c.local_name() << "' -> node " << c.node_id() << "\n";
    for (const auto& a : n.attributes())
      std::cout << "  attribute " << a.name() << ": " << a.checkpoint_key()
                << (a.full_name().empty() ? "" : " (" + a.full_name() + ")") << "\n";
    for (const auto& s : n.slot_variables())
      std::cout << "  slot '" << s.slot_name() << "' of node " << s.original_variable_node_id()
                << " -> node " << s.slot_variable_node_id() << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help")) {
    std::fprintf(stderr, "usage: ember-ckpt PREFIX|DIR [--tensor KEY | --graph]\n");
    return argc < 2 ? 2 : 0;
  }
  try {
    std::string prefix = argv[1];
    std::error_code ec;
    if (std::filesystem::is_directory(prefix, ec)) {
      std::string latest = latest_checkpoint(prefix);
      if (latest.empty())
        throw NotFound("[ember-ckpt] no checkpoint recorded in " + prefix + "/checkpoint");
      prefix = latest;
    }
    bundle::Reader r(prefix);
    if (argc >= 4 && !std::strcmp(argv[2], "--tensor")) {
      print_tensor(r, argv[3]);
    } else if (argc >= 3 && !std::strcmp(argv[2], "--graph")) {
      print_graph(r);
    } else if (argc == 2) {
      for (const auto& key : r.keys()) {
        const auto& e = r.entry(key);
        std::cout << key << " (" << bundle::tf_dtype_name(e.tf_dtype) << ") " << shape_of(e.shape)
                  << "\n";
      }
    } else {
      std::fprintf(stderr, "usage: ember-ckpt PREFIX|DIR [--tensor KEY | --graph]\n");
      return 2;
    }
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // not expected from ember; reported, never an abort
    std::fprintf(stderr, "[ember-ckpt] %s\n", e.what());
    return 1;
  }
  return 0;
}
