// ember-saved-model: looks inside and runs a SavedModel, as TensorFlow's
// saved_model_cli.
//   ember-saved-model show DIR
//       the tags, every signature with its inputs and outputs, the saved
//       functions with their traces, the object tree
//   ember-saved-model run DIR [--signature_def KEY] --inputs NAME=FILE.npy[;NAME=FILE.npy...] [--outdir OUT]
//       calls the signature (default serving_default) on the arrays and
//       prints each output; with --outdir, writes OUT/<output key>.npy
#include <filesystem>
#include <iostream>
#include <map>
#include <string>

#include "ember.h"

namespace {

using namespace ember;

int usage() {
  std::cerr << "usage: ember-saved-model show DIR\n"
               "       ember-saved-model run DIR [--signature_def KEY] --inputs NAME=FILE.npy[;NAME=FILE.npy...] "
               "[--outdir OUT]\n";
  return 2;
}

std::map<std::string, Tensor> parse_inputs(const std::string& spec) {
  std::map<std::string, Tensor> out;
  size_t at = 0;
  while (at <= spec.size()) {
    size_t end = spec.find(';', at);
    if (end == std::string::npos) end = spec.size();
    std::string item = spec.substr(at, end - at);
    at = end + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InvalidArgument("[ember-saved-model] --inputs: '" + item + "' is not NAME=FILE.npy");
    out[item.substr(0, eq)] = npy::read(item.substr(eq + 1));
  }
  return out;
}

int run(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string cmd = argv[1], dir = argv[2];
  if (cmd == "show") {
    if (argc != 3) return usage();
    std::cout << saved_model::describe(dir);
    return 0;
  }
  if (cmd != "run") return usage();
  std::string key = "serving_default", inputs, outdir;
  bool have_inputs = false;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    if (a == "--signature_def") {
      key = argv[++i];
    } else if (a == "--inputs") {
      inputs = argv[++i];
      have_inputs = true;
    } else if (a == "--outdir") {
      outdir = argv[++i];
    } else {
      return usage();
    }
  }
  if (!have_inputs) return usage();
  auto loaded = saved_model::load(dir);
  auto outputs = loaded.signature(key)(parse_inputs(inputs));
  if (!outdir.empty()) std::filesystem::create_directories(outdir);
  for (const auto& [name, t] : outputs) {
    std::cout << "Result for output key " << name << ":\n" << format_values(t) << "\n";
    if (!outdir.empty()) npy::write(outdir + "/" + name + ".npy", t);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "ember-saved-model: " << e.what() << "\n";
    return 1;
  }
}
