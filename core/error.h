// Errors: one exception class per kind, as TensorFlow's status codes.
// A message says what was expected and what came: "[matmul] inner dimensions
// differ: [2,3] vs [4,5]".
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace ember {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

#define EMBER_DECLARE_ERROR(Name) \
  class Name : public Error {     \
   public:                        \
    using Error::Error;           \
  };
EMBER_DECLARE_ERROR(InvalidArgument)
EMBER_DECLARE_ERROR(NotFound)
EMBER_DECLARE_ERROR(FailedPrecondition)
EMBER_DECLARE_ERROR(OutOfRange)
EMBER_DECLARE_ERROR(DataLoss)
EMBER_DECLARE_ERROR(ResourceExhausted)
EMBER_DECLARE_ERROR(Unimplemented)
EMBER_DECLARE_ERROR(Internal)
EMBER_DECLARE_ERROR(DeadlineExceeded)
EMBER_DECLARE_ERROR(Unavailable)
#undef EMBER_DECLARE_ERROR

/// Rethrows the ember Error being handled with `prefix` in front of its
/// message, keeping its kind (a function's node, a loaded model's file).
/// Call only from a catch block for ember::Error.
[[noreturn]] void rethrow_with_prefix(const std::string& prefix);

namespace detail {
template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace ember

/// Throws ERROR_CLASS with the streamed message when COND is false.
#define EMBER_CHECK(COND, ERROR_CLASS, ...)                              \
  do {                                                                   \
    if (!(COND)) [[unlikely]]                                            \
      throw ::ember::ERROR_CLASS(::ember::detail::str_cat(__VA_ARGS__)); \
  } while (0)
