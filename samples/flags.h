// What the samples' command lines share: a flag's value, and numbers that
// must be the whole value ("1x" is not 1). A bad value throws
// std::logic_error, which each sample's parser reports as "bad value for
// --flag".
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace sample::flags {

/// The value after argv[i] (advancing i); exits with an error when there is none.
inline std::string value(int argc, char** argv, int& i) {
  if (i + 1 >= argc) {
    std::fprintf(stderr, "%s: %s needs a value\n", argv[0], argv[i]);
    std::exit(2);
  }
  return argv[++i];
}

/// `s` as an integer, all of it, at most `most`.
inline int64_t integer(const std::string& s, int64_t most = INT64_MAX) {
  size_t used = 0;
  const long long v = std::stoll(s, &used);
  if (used != s.size()) throw std::invalid_argument("not an integer: " + s);
  if (v > most) throw std::out_of_range("too large: " + s);
  return v;
}

/// `s` as a number, all of it.
inline double number(const std::string& s) {
  size_t used = 0;
  const double v = std::stod(s, &used);
  if (used != s.size()) throw std::invalid_argument("not a number: " + s);
  return v;
}

}  // namespace sample::flags
