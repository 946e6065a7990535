#include "state/hash_table.h"

#include <cstring>

#include "core/error.h"
#include "core/ops.h"

namespace ember {

namespace {

class TableSaveable : public Saveable {
 public:
  explicit TableSaveable(MutableHashTable* t) : t_(t) {}
  std::vector<SavedTensor> save() const override {
    auto c = t_->columns();
    auto n = static_cast<int64_t>(c.values.size());
    SavedTensor keys, values;
    keys.suffix = "-keys";
    keys.shape = TensorShape{n};
    if (t_->key_type() == KeyType::String) {
      keys.is_string = true;
      keys.strings = c.string_keys;
    } else {
      keys.dtype = int64;
      keys.bytes.assign(reinterpret_cast<const char*>(c.int_keys.data()), c.int_keys.size() * 8);
    }
    values.suffix = "-values";
    values.dtype = t_->value_dtype();
    values.shape = TensorShape{n};
    const size_t width = dtype_size(values.dtype);
    for (MutableHashTable::Cell v : c.values) values.bytes.append(reinterpret_cast<const char*>(&v), width);
    return {keys, values};
  }
  void check(const std::map<std::string, SavedTensor>& tensors) const override {
    auto k = tensors.find("-keys"), v = tensors.find("-values");
    EMBER_CHECK(k != tensors.end() && v != tensors.end(), NotFound,
                "[checkpoint] hash table needs table-keys and table-values");
    bool want_string = t_->key_type() == KeyType::String;
    EMBER_CHECK(k->second.is_string == want_string && (want_string || k->second.dtype == int64),
                InvalidArgument, "[checkpoint] hash table keys: expected ",
                want_string ? "string" : "int64", ", got ",
                k->second.is_string ? "string" : std::string(dtype_name(k->second.dtype)));
    EMBER_CHECK(!v->second.is_string && v->second.dtype == t_->value_dtype(), InvalidArgument,
                "[checkpoint] hash table values: expected dtype ", dtype_name(t_->value_dtype()),
                " does not equal original dtype ",
                v->second.is_string ? "string" : std::string(dtype_name(v->second.dtype)));
    EMBER_CHECK(k->second.shape.rank() == 1 && v->second.shape.rank() == 1 &&
                    k->second.shape == v->second.shape,
                InvalidArgument, "[checkpoint] hash table keys ", k->second.shape.to_string(),
                " and values ", v->second.shape.to_string(), " must be 1-D of one length");
  }
  void restore(const std::map<std::string, SavedTensor>& tensors) override {
    const SavedTensor &k = tensors.at("-keys"), &v = tensors.at("-values");
    MutableHashTable::Columns c;
    int64_t n = k.shape.dim(0);
    if (k.is_string)
      c.string_keys = k.strings;
    else
      c.int_keys.resize(static_cast<size_t>(n)),
          std::memcpy(c.int_keys.data(), k.bytes.data(), k.bytes.size());
    const size_t width = dtype_size(v.dtype);
    for (int64_t i = 0; i < n; ++i) {
      MutableHashTable::Cell cell = 0;
      std::memcpy(&cell, v.bytes.data() + width * static_cast<size_t>(i), width);
      c.values.push_back(cell);
    }
    t_->replace(c);
  }

 private:
  MutableHashTable* t_;
};

}  // namespace

MutableHashTable::MutableHashTable(KeyType key_type, DType value_dtype, double default_value)
    : key_type_(key_type), value_dtype_(value_dtype), default_(0) {
  EMBER_CHECK(value_dtype == int64 || value_dtype == float32 || value_dtype == float64,
              InvalidArgument, "[MutableHashTable] values must be int64, float32 or float64, got ",
              dtype_name(value_dtype));
  if (value_dtype == float32) {
    auto f = static_cast<float>(default_value);
    std::memcpy(&default_, &f, 4);
  } else if (value_dtype == float64) {
    std::memcpy(&default_, &default_value, 8);
  } else {
    auto i = static_cast<int64_t>(default_value);
    std::memcpy(&default_, &i, 8);
  }
}

std::vector<MutableHashTable::Cell> MutableHashTable::value_list(const Tensor& values, size_t n,
                                                              const char* api) const {
  EMBER_CHECK(values.dtype() == value_dtype_, InvalidArgument, "[MutableHashTable.", api,
              "] values must be ", dtype_name(value_dtype_), ", got ", dtype_name(values.dtype()));
  EMBER_CHECK(values.num_elements() == static_cast<int64_t>(n), InvalidArgument,
              "[MutableHashTable.", api, "] ", n, " keys but ", values.num_elements(), " values");
  Tensor h = values.to(Device::cpu());
  const size_t width = dtype_size(value_dtype_);
  std::vector<Cell> out(n, 0);
  for (size_t i = 0; i < n; ++i)
    std::memcpy(&out[i], static_cast<const char*>(h.raw_data()) + i * width, width);
  return out;
}

Tensor MutableHashTable::make_values(const std::vector<Cell>& v, const TensorShape& shape) const {
  Tensor t = Tensor::empty(shape, value_dtype_, Device::cpu());
  const size_t width = dtype_size(value_dtype_);
  for (size_t i = 0; i < v.size(); ++i)
    std::memcpy(static_cast<char*>(t.raw_data()) + i * width, &v[i], width);
  return t.to(default_device());
}

namespace {
std::vector<int64_t> int_keys(const Tensor& keys, const char* api) {
  EMBER_CHECK(keys.dtype() == int64, InvalidArgument, "[MutableHashTable.", api,
              "] keys must be int64, got ", dtype_name(keys.dtype()));
  return keys.to_vector<int64_t>();
}
}  // namespace

void MutableHashTable::insert(const Tensor& keys, const Tensor& values) {
  EMBER_CHECK(key_type_ == KeyType::Int64, InvalidArgument,
              "[MutableHashTable.insert] this table has string keys");
  auto k = int_keys(keys, "insert");
  auto v = value_list(values, k.size(), "insert");
  for (size_t i = 0; i < k.size(); ++i) ints_[k[i]] = v[i];
}
void MutableHashTable::insert(const std::vector<std::string>& keys, const Tensor& values) {
  EMBER_CHECK(key_type_ == KeyType::String, InvalidArgument,
              "[MutableHashTable.insert] this table has int64 keys");
  auto v = value_list(values, keys.size(), "insert");
  for (size_t i = 0; i < keys.size(); ++i) strings_[keys[i]] = v[i];
}
Tensor MutableHashTable::lookup(const Tensor& keys) const {
  EMBER_CHECK(key_type_ == KeyType::Int64, InvalidArgument,
              "[MutableHashTable.lookup] this table has string keys");
  std::vector<Cell> out;
  for (int64_t k : int_keys(keys, "lookup")) {
    auto it = ints_.find(k);
    out.push_back(it == ints_.end() ? default_ : it->second);
  }
  return make_values(out, keys.shape());
}
Tensor MutableHashTable::lookup(const std::vector<std::string>& keys) const {
  EMBER_CHECK(key_type_ == KeyType::String, InvalidArgument,
              "[MutableHashTable.lookup] this table has int64 keys");
  std::vector<Cell> out;
  for (const auto& k : keys) {
    auto it = strings_.find(k);
    out.push_back(it == strings_.end() ? default_ : it->second);
  }
  return make_values(out, TensorShape{static_cast<int64_t>(keys.size())});
}
void MutableHashTable::remove(const Tensor& keys) {
  EMBER_CHECK(key_type_ == KeyType::Int64, InvalidArgument,
              "[MutableHashTable.remove] this table has string keys");
  for (int64_t k : int_keys(keys, "remove")) ints_.erase(k);
}
void MutableHashTable::remove(const std::vector<std::string>& keys) {
  EMBER_CHECK(key_type_ == KeyType::String, InvalidArgument,
              "[MutableHashTable.remove] this table has int64 keys");
  for (const auto& k : keys) strings_.erase(k);
}
int64_t MutableHashTable::size() const {
  return static_cast<int64_t>(key_type_ == KeyType::Int64 ? ints_.size() : strings_.size());
}

MutableHashTable::Columns MutableHashTable::columns() const {
  Columns c;
  for (const auto& [k, v] : ints_) c.int_keys.push_back(k), c.values.push_back(v);
  for (const auto& [k, v] : strings_) c.string_keys.push_back(k), c.values.push_back(v);
  return c;
}

void MutableHashTable::replace(const Columns& c) {
  ints_.clear();
  strings_.clear();
  for (size_t i = 0; i < c.values.size(); ++i) {
    if (key_type_ == KeyType::Int64)
      ints_[c.int_keys[i]] = c.values[i];
    else
      strings_[c.string_keys[i]] = c.values[i];
  }
}

std::pair<Tensor, Tensor> MutableHashTable::export_int64() const {
  EMBER_CHECK(key_type_ == KeyType::Int64, InvalidArgument,
              "[MutableHashTable.export] this table has string keys");
  auto c = columns();
  auto n = static_cast<int64_t>(c.values.size());
  return {constant(c.int_keys, TensorShape{n}), make_values(c.values, TensorShape{n})};
}
std::pair<std::vector<std::string>, Tensor> MutableHashTable::export_strings() const {
  EMBER_CHECK(key_type_ == KeyType::String, InvalidArgument,
              "[MutableHashTable.export] this table has int64 keys");
  auto c = columns();
  return {c.string_keys, make_values(c.values, TensorShape{static_cast<int64_t>(c.values.size())})};
}

std::map<std::string, std::shared_ptr<Saveable>> MutableHashTable::saveables() {
  return {{"table", std::make_shared<TableSaveable>(this)}};
}

}  // namespace ember
