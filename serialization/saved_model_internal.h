// What the SavedModel files share (internal: not installed). saved_model.h
// is one job per file: saving (saved_model_save.cpp), the directory
// transaction and reading saved_model.pb (saved_model_files.cpp), loading
// (saved_model_load.cpp), and the text dump (saved_model_describe.cpp).
#pragma once

#include <string>
#include <vector>

#include "saved_model.pb.h"

namespace ember::saved_model::detail {

inline constexpr const char* kServe = "serve";
inline constexpr const char* kGeneric = "_generic_user_object";
inline constexpr const char* kSignatureMap = "signature_map";

// ---- the directory (saved_model_files.cpp) ------------------------------------------------

/// The directory that holds the model `dir` names: `dir`, or the model a
/// crashed save left aside.
std::string model_dir(const std::string& dir);
/// Puts back a model a crashed save left aside (no model at `dir`), or
/// removes it (the new model is in place).
void recover_aside(const std::string& dir);
/// Moves the finished model in `tmp` to `dir`, replacing what is there
/// (atomically where the file system can exchange two names).
void swap_in(const std::string& tmp, const std::string& dir);
/// Removes what killed saves of `target` left beside it: `target.tmp-PID-*`
/// directories whose process is gone.
void sweep_temporaries(const std::string& target);

/// saved_model.pb, parsed and checked, and its "serve" meta graph.
struct ModelFile {
  tensorflow::SavedModel model;
  const tensorflow::MetaGraphDef* meta = nullptr;
};
ModelFile read_model(const std::string& dir);

// ---- text (saved_model_describe.cpp) -----------------------------------------------------

/// "Positional arguments (N total):" and the items, as saved_model_cli prints them.
std::string describe_spec_list(const std::vector<std::string>& items);
/// A StructuredValue as Python prints it.
std::string python_repr(const tensorflow::StructuredValue& v);

}  // namespace ember::saved_model::detail
