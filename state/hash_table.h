// MutableHashTable: tf.lookup.experimental.MutableHashTable. Keys are int64
// or strings, values int64, float32 or float64 scalars; lookups of missing
// keys give the default value. Saved as `table-keys` / `table-values`.
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "state/trackable.h"

namespace ember {

enum class KeyType { Int64, String };

class MutableHashTable : public Trackable {
 public:
  MutableHashTable(KeyType key_type, DType value_dtype, double default_value);

  KeyType key_type() const { return key_type_; }
  DType value_dtype() const { return value_dtype_; }

  /// Inserts or overwrites; `values` is 1-D of the value dtype, one per key.
  void insert(const Tensor& keys, const Tensor& values);
  void insert(const std::vector<std::string>& keys, const Tensor& values);
  /// The value of each key (the default where absent), shaped like the keys.
  Tensor lookup(const Tensor& keys) const;
  Tensor lookup(const std::vector<std::string>& keys) const;
  void remove(const Tensor& keys);
  void remove(const std::vector<std::string>& keys);
  int64_t size() const;
  /// Every (key, value) pair, in no particular order.
  std::pair<Tensor, Tensor> export_int64() const;
  std::pair<std::vector<std::string>, Tensor> export_strings() const;

  std::map<std::string, std::shared_ptr<Saveable>> saveables() override;

  // For the saveable: the contents as columns, and replacing them.
  /// A value's bytes in the value dtype (width <= 8), held exactly.
  using Cell = uint64_t;
  struct Columns {
    std::vector<int64_t> int_keys;
    std::vector<std::string> string_keys;
    std::vector<Cell> values;
  };
  Columns columns() const;
  void replace(const Columns& c);

 private:
  std::vector<Cell> value_list(const Tensor& values, size_t n, const char* api) const;
  Tensor make_values(const std::vector<Cell>& v, const TensorShape& shape) const;

  KeyType key_type_;
  DType value_dtype_;
  Cell default_;
  // Each value's own bytes: int64 values beyond 2^53 stay exact.
  std::unordered_map<int64_t, Cell> ints_;
  std::unordered_map<std::string, Cell> strings_;
};

}  // namespace ember
