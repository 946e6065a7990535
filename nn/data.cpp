// IDX files (through zlib, which reads gzipped and plain files alike) and
// the Dataset pipeline: each node opens a Source per pass; sources over rows
// of in-memory tensors can also hand out row indices, which shuffle passes
// along and batch turns into one gather per component.
#include "nn/data.h"

#include <zlib.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <random>
#include <sstream>
#include <string_view>
#include <thread>

#include "core/context.h"
#include "core/error.h"
#include "core/ops.h"
#include "core/random.h"

namespace ember::data {

// ---- IDX ---------------------------------------------------------------------------------------

Tensor read_idx(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  EMBER_CHECK(f != nullptr, NotFound, "[data::read_idx] cannot open ", path);
  struct Closer {
    gzFile f;
    ~Closer() { gzclose(f); }
  } closer{f};
  auto read = [&](void* dst, size_t n) -> size_t {
    size_t got = 0;
    while (got < n) {
      unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30));
      int r = gzread(f, static_cast<char*>(dst) + got, chunk);
      if (r < 0) {
        int errnum = 0;
        const char* msg = gzerror(f, &errnum);
        throw DataLoss(detail::str_cat("[data::read_idx] ", path, ": ", msg));
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return got;
  };
  unsigned char magic[4];
  EMBER_CHECK(read(magic, 4) == 4, DataLoss, "[data::read_idx] ", path,
              " is truncated: no IDX header");
  EMBER_CHECK(magic[0] == 0 && magic[1] == 0 && magic[3] >= 1 && magic[3] <= 4, DataLoss,
              "[data::read_idx] ", path, " is not an IDX file (bad magic number ", int(magic[0]), ",",
              int(magic[1]), ",", int(magic[2]), ",", int(magic[3]), ")");
  EMBER_CHECK(magic[2] == 0x08, Unimplemented, "[data::read_idx] ", path, ": element type 0x",
              std::hex, int(magic[2]), " is not supported (only unsigned bytes, 0x08)");
  std::vector<int64_t> dims;
  for (int i = 0; i < magic[3]; ++i) {
    unsigned char b[4];
    EMBER_CHECK(read(b, 4) == 4, DataLoss, "[data::read_idx] ", path, " is truncated in its header");
    dims.push_back((int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) | (int64_t(b[2]) << 8) | b[3]);
  }
  TensorShape shape(dims);
  auto count = shape.checked_num_elements();
  EMBER_CHECK(count && *count < (int64_t{1} << 36), DataLoss, "[data::read_idx] ", path,
              ": implausible shape ", shape.to_debug_string());
  Tensor t = Tensor::empty(shape, uint8, Device::cpu());
  size_t got = read(t.raw_data(), static_cast<size_t>(*count));
  EMBER_CHECK(got == static_cast<size_t>(*count), DataLoss, "[data::read_idx] ", path,
              " is truncated: its header promises ", *count, " bytes of data, the file has ", got);
  // Read on to the end: zlib checks a gzip stream's CRC and length only
  // there, so a corrupt byte in the data is found, not returned.
  char extra[64];
  size_t more = read(extra, sizeof extra);
  EMBER_CHECK(more == 0, DataLoss, "[data::read_idx] ", path, " holds more than its header promises (",
              *count, " bytes of data)");
  return t;
}

Mnist load_mnist(const std::string& dir) {
  auto find = [&](const std::string& stem) {
    std::string gz = dir + "/" + stem + ".gz";
    if (gzFile f = gzopen(gz.c_str(), "rb")) {
      gzclose(f);
      return gz;
    }
    return dir + "/" + stem;
  };
  Mnist m;
  m.train_images = read_idx(find("train-images-idx3-ubyte"));
  m.train_labels = read_idx(find("train-labels-idx1-ubyte"));
  m.test_images = read_idx(find("t10k-images-idx3-ubyte"));
  m.test_labels = read_idx(find("t10k-labels-idx1-ubyte"));
  auto check = [&](const Tensor& images, const Tensor& labels, const char* split) {
    EMBER_CHECK(images.rank() == 3 && labels.rank() == 1, DataLoss, "[data::load_mnist] ", dir,
                ": the ", split, " images must be [n, rows, cols] and the labels [n], got ",
                images.shape().to_debug_string(), " and ", labels.shape().to_debug_string());
    EMBER_CHECK(images.dim(0) == labels.dim(0), DataLoss, "[data::load_mnist] ", dir, ": ",
                images.dim(0), " ", split, " images but ", labels.dim(0), " labels");
  };
  check(m.train_images, m.train_labels, "training");
  check(m.test_images, m.test_labels, "test");
  return m;
}

// ---- Dataset ------------------------------------------------------------------------------------

namespace {

// An iterator's state as bytes (the checkpoint's ITERATOR_STATE): integers,
// blobs and tensors, little-endian, read back with every length checked.
class StateWriter {
 public:
  void i64(int64_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void bytes(std::string_view b) {
    i64(static_cast<int64_t>(b.size()));
    out_.append(b);
  }
  void tensor(const Tensor& t) {
    Tensor host = t.to(Device::cpu());
    i64(static_cast<int64_t>(host.dtype()));
    i64(host.rank());
    for (int64_t d : host.shape().dims()) i64(d);
    bytes(std::string_view(static_cast<const char*>(host.raw_data()), host.nbytes()));
  }
  void element(const Element& e) {
    i64(static_cast<int64_t>(e.size()));
    for (const Tensor& t : e) tensor(t);
  }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

class StateReader {
 public:
  explicit StateReader(std::string_view in) : in_(in) {}
  int64_t i64() {
    int64_t v;
    need(sizeof v);
    std::memcpy(&v, in_.data(), sizeof v);
    in_.remove_prefix(sizeof v);
    return v;
  }
  std::string_view bytes() {
    int64_t n = i64();
    if (n < 0) corrupt();
    need(static_cast<size_t>(n));
    std::string_view b = in_.substr(0, static_cast<size_t>(n));
    in_.remove_prefix(static_cast<size_t>(n));
    return b;
  }
  Tensor tensor(Device device) {
    int64_t dt = i64(), rank = i64();
    if (dt < 0 || dt > static_cast<int64_t>(DType::Variant) || !is_computable(static_cast<DType>(dt)) || rank < 0 ||
        rank > 64)
      corrupt();
    Dims dims;
    for (int64_t i = 0; i < rank; ++i) dims.push_back(i64());
    TensorShape shape(std::move(dims));
    auto bytes_needed = byte_size(shape, static_cast<DType>(dt));
    std::string_view b = bytes();
    if (!shape.is_fully_defined() || !bytes_needed || *bytes_needed != b.size()) corrupt();
    Tensor t = Tensor::empty(shape, static_cast<DType>(dt), Device::cpu());
    if (!b.empty()) std::memcpy(t.raw_data(), b.data(), b.size());
    return t.to(device);
  }
  Element element(Device device) {
    int64_t n = i64();
    if (n < 0 || n > 1 << 20) corrupt();
    Element e;
    for (int64_t i = 0; i < n; ++i) e.push_back(tensor(device));
    return e;
  }
  bool done() const { return in_.empty(); }
  [[noreturn]] static void corrupt() {
    throw DataLoss("[data::Iterator] the checkpoint's iterator state is corrupt (truncated or malformed)");
  }

 private:
  void need(size_t n) const {
    if (in_.size() < n) corrupt();
  }
  std::string_view in_;
};

// One pass over a node's elements. `save` writes where it is; `restore`
// (on a source freshly opened from the same node) goes back there.
struct Source {
  virtual ~Source() = default;
  virtual std::optional<Element> next() = 0;
  // The row-index form: the rows' tensors, then indices into them.
  virtual const Element* rows() const { return nullptr; }
  virtual std::optional<int64_t> next_index() { return std::nullopt; }
  virtual void save(StateWriter& w) = 0;
  virtual void restore(StateReader& r) = 0;
};

Element gather_rows(const Element& rows, const std::vector<int64_t>& idx) {
  Tensor i = constant(idx, Device::cpu());
  Element out;
  for (const Tensor& t : rows) out.push_back(gather(t, i.to(t.device())));
  return out;
}

}  // namespace

struct Dataset::Node {
  virtual ~Node() = default;
  virtual std::unique_ptr<Source> open() const = 0;
  virtual int64_t cardinality() const = 0;
  // Whether a pass never ends (tf.data's INFINITE_CARDINALITY).
  virtual bool infinite() const = 0;
  // What kind of node it is, for a saved state's fingerprint ("shuffle(slices)").
  virtual std::string describe() const = 0;
};

namespace {
// The usual open() of a node over another: an iterator of type It that
// knows its node and reads a pass of the node's input.
template <typename It, typename N>
std::unique_ptr<It> open_over(const N* node) {
  auto s = std::make_unique<It>();
  s->node = node;
  s->in = node->input->open();
  return s;
}

// Row k of each component of in-memory rows (a source's `rows()`).
Element row_at(const Element& rows, int64_t k) {
  Element out;
  for (const Tensor& t : rows) out.push_back(gather(t, constant(k, t.device())));
  return out;
}
}  // namespace

struct Dataset::Iterator::Impl {
  std::shared_ptr<const Dataset::Node> root;  // keeps every node of the pipeline alive
  std::unique_ptr<Source> source;
  std::mutex mu;  // next() and a checkpoint's save or restore, one at a time
};

Dataset::Iterator::Iterator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Dataset::Iterator::Iterator(Iterator&&) noexcept = default;
Dataset::Iterator& Dataset::Iterator::operator=(Iterator&&) noexcept = default;
Dataset::Iterator::~Iterator() = default;
std::optional<Element> Dataset::Iterator::next() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->source->next();
}

namespace {

constexpr std::string_view kStateMagic = "ember.data.Iterator/1";

// The iterator's whole state as one string tensor (TensorFlow saves its
// iterators' state under ITERATOR_STATE too, in its own encoding).
class IteratorSaveable : public Saveable {
 public:
  explicit IteratorSaveable(Dataset::Iterator::Impl* impl) : impl_(impl) {}
  std::vector<SavedTensor> save() const override {
    std::lock_guard<std::mutex> lock(impl_->mu);
    StateWriter w;
    w.bytes(kStateMagic);
    w.bytes(impl_->root->describe());
    impl_->source->save(w);
    SavedTensor t;
    t.is_string = true;
    t.shape = TensorShape{};
    t.strings = {std::move(w.str())};
    return {std::move(t)};
  }
  void check(const std::map<std::string, SavedTensor>& tensors) const override {
    auto it = tensors.find("");
    EMBER_CHECK(it != tensors.end() && it->second.is_string && it->second.strings.size() == 1, InvalidArgument,
                "[data::Iterator] the checkpoint holds no iterator state here (a scalar string)");
    StateReader r(it->second.strings[0]);
    EMBER_CHECK(r.bytes() == kStateMagic, InvalidArgument,
                "[data::Iterator] the checkpoint's iterator state is not ember's (", kStateMagic, ")");
    std::string_view saved = r.bytes();
    EMBER_CHECK(saved == impl_->root->describe(), InvalidArgument,
                "[data::Iterator] the checkpoint's iterator went over another pipeline: ", saved, ", this one is ",
                impl_->root->describe());
  }
  void restore(const std::map<std::string, SavedTensor>& tensors) override {
    std::lock_guard<std::mutex> lock(impl_->mu);
    StateReader r(tensors.at("").strings[0]);
    r.bytes();
    r.bytes();
    impl_->source->restore(r);
    if (!r.done()) StateReader::corrupt();
  }

 private:
  Dataset::Iterator::Impl* impl_;
};

}  // namespace

std::map<std::string, std::shared_ptr<Saveable>> Dataset::Iterator::saveables() {
  return {{"ITERATOR_STATE", std::make_shared<IteratorSaveable>(impl_.get())}};
}

namespace {

struct Slices : Dataset::Node {
  Element tensors;
  int64_t n;
  struct It : Source {
    const Slices* node;
    int64_t i = 0;
    std::optional<Element> next() override {
      auto k = next_index();
      if (!k) return std::nullopt;
      return row_at(node->tensors, *k);
    }
    const Element* rows() const override { return &node->tensors; }
    std::optional<int64_t> next_index() override {
      if (i >= node->n) return std::nullopt;
      return i++;
    }
    void save(StateWriter& w) override { w.i64(i); }
    void restore(StateReader& r) override {
      i = r.i64();
      if (i < 0 || i > node->n) StateReader::corrupt();
    }
  };
  std::unique_ptr<Source> open() const override {
    auto s = std::make_unique<It>();
    s->node = this;
    return s;
  }
  int64_t cardinality() const override { return n; }
  bool infinite() const override { return false; }
  std::string describe() const override { return detail::str_cat("slices[", n, "]"); }
};

struct Shuffle : Dataset::Node {
  std::shared_ptr<const Dataset::Node> input;
  int64_t buffer;
  // The seed, and the passes opened so far: each pass's order comes from
  // both. A restored iterator sets them back, so an unseeded shuffle goes
  // on in the saved order in a new process too.
  mutable std::atomic<int64_t> seed;
  bool reshuffle;
  mutable std::atomic<int64_t> passes{0};
  // The tf.data algorithm over either indices or elements: fill a buffer,
  // then emit a uniformly chosen slot and refill it from the input.
  template <typename T>
  struct Buffer {
    std::vector<T> items;
    std::mt19937_64 rng;
    template <typename Pull>
    std::optional<T> next(int64_t cap, Pull pull) {
      while (static_cast<int64_t>(items.size()) < cap) {
        auto v = pull();
        if (!v) break;
        items.push_back(std::move(*v));
      }
      if (items.empty()) return std::nullopt;
      size_t k = std::uniform_int_distribution<size_t>(0, items.size() - 1)(rng);
      T out = std::move(items[k]);
      items[k] = std::move(items.back());
      items.pop_back();
      return out;
    }
  };
  struct It : Source {
    const Shuffle* node;
    std::unique_ptr<Source> in;
    Buffer<int64_t> idx;
    Buffer<Element> elems;
    std::optional<Element> next() override {
      if (in->rows()) {
        auto k = next_index();
        if (!k) return std::nullopt;
        return row_at(*in->rows(), *k);
      }
      return elems.next(node->buffer, [&] { return in->next(); });
    }
    const Element* rows() const override { return in->rows(); }
    std::optional<int64_t> next_index() override {
      return idx.next(node->buffer, [&] { return in->next_index(); });
    }
    void save(StateWriter& w) override {
      w.i64(node->seed);
      w.i64(node->passes);
      std::ostringstream rng;
      rng << idx.rng << ' ' << elems.rng;
      w.bytes(rng.str());
      w.i64(static_cast<int64_t>(idx.items.size()));
      for (int64_t k : idx.items) w.i64(k);
      w.i64(static_cast<int64_t>(elems.items.size()));
      for (const Element& e : elems.items) w.element(e);
      in->save(w);
    }
    void restore(StateReader& r) override {
      node->seed = r.i64();
      node->passes = r.i64();
      std::istringstream rng(std::string(r.bytes()));
      rng >> idx.rng >> elems.rng;
      if (!rng) StateReader::corrupt();
      int64_t n = r.i64();
      if (n < 0 || n > node->buffer) StateReader::corrupt();
      idx.items.clear();
      for (int64_t k = 0; k < n; ++k) idx.items.push_back(r.i64());
      n = r.i64();
      if (n < 0 || n > node->buffer) StateReader::corrupt();
      elems.items.clear();
      for (int64_t k = 0; k < n; ++k) elems.items.push_back(r.element(Device::cpu()));
      in->restore(r);
    }
  };
  std::unique_ptr<Source> open() const override {
    auto s = open_over<It>(this);
    int64_t pass = reshuffle ? passes.fetch_add(1) : 0;
    std::seed_seq seq{static_cast<uint64_t>(seed.load()), static_cast<uint64_t>(pass)};
    s->idx.rng.seed(seq);
    s->elems.rng = s->idx.rng;
    return s;
  }
  int64_t cardinality() const override { return input->cardinality(); }
  bool infinite() const override { return input->infinite(); }
  std::string describe() const override { return detail::str_cat("shuffle[", buffer, "](", input->describe(), ")"); }
};

struct Batch : Dataset::Node {
  std::shared_ptr<const Dataset::Node> input;
  int64_t size;
  bool drop;
  struct It : Source {
    const Batch* node;
    std::unique_ptr<Source> in;
    std::optional<Element> next() override {
      if (const Element* rows = in->rows()) {
        std::vector<int64_t> idx;
        while (static_cast<int64_t>(idx.size()) < node->size) {
          auto k = in->next_index();
          if (!k) break;
          idx.push_back(*k);
        }
        if (idx.empty() || (node->drop && static_cast<int64_t>(idx.size()) < node->size)) return std::nullopt;
        return gather_rows(*rows, idx);
      }
      std::vector<Element> items;
      while (static_cast<int64_t>(items.size()) < node->size) {
        auto e = in->next();
        if (!e) break;
        items.push_back(std::move(*e));
      }
      if (items.empty() || (node->drop && static_cast<int64_t>(items.size()) < node->size)) return std::nullopt;
      Element out;
      for (size_t c = 0; c < items[0].size(); ++c) {
        std::vector<Tensor> parts;
        for (const Element& e : items) {
          EMBER_CHECK(e.size() == items[0].size(), InvalidArgument,
                      "[data::Dataset::batch] elements have different numbers of components");
          parts.push_back(e[c]);
        }
        out.push_back(stack(parts, 0));
      }
      return out;
    }
    void save(StateWriter& w) override { in->save(w); }
    void restore(StateReader& r) override { in->restore(r); }
  };
  std::unique_ptr<Source> open() const override { return open_over<It>(this); }
  int64_t cardinality() const override {
    int64_t n = input->cardinality();
    if (n < 0) return n;
    return drop ? n / size : n / size + (n % size != 0);  // (n + size - 1 would overflow for huge sizes)
  }
  bool infinite() const override { return input->infinite(); }
  std::string describe() const override { return detail::str_cat("batch[", size, drop ? ",drop" : "", "](", input->describe(), ")"); }
};

struct Map : Dataset::Node {
  std::shared_ptr<const Dataset::Node> input;
  std::function<Element(const Element&)> fn;
  struct It : Source {
    const Map* node;
    std::unique_ptr<Source> in;
    std::optional<Element> next() override {
      auto e = in->next();
      if (!e) return std::nullopt;
      return node->fn(*e);
    }
    void save(StateWriter& w) override { in->save(w); }
    void restore(StateReader& r) override { in->restore(r); }
  };
  std::unique_ptr<Source> open() const override { return open_over<It>(this); }
  int64_t cardinality() const override { return input->cardinality(); }
  bool infinite() const override { return input->infinite(); }
  std::string describe() const override { return "map(" + input->describe() + ")"; }
};

struct Repeat : Dataset::Node {
  std::shared_ptr<const Dataset::Node> input;
  int64_t count;
  struct It : Source {
    const Repeat* node;
    std::unique_ptr<Source> in;
    int64_t done = 0;
    bool produced = false;  // in this repetition
    std::optional<Element> next() override {
      while (true) {
        if (!in) return std::nullopt;
        if (auto e = in->next()) {
          produced = true;
          return e;
        }
        ++done;
        // An empty input would repeat forever without producing: stop.
        if (!produced || (node->count >= 0 && done >= node->count)) {
          in.reset();
          return std::nullopt;
        }
        produced = false;
        in = node->input->open();
      }
    }
    void save(StateWriter& w) override {
      w.i64(done);
      w.i64(produced);
      w.i64(in != nullptr);
      if (in) in->save(w);
    }
    void restore(StateReader& r) override {
      done = r.i64();
      produced = r.i64() != 0;
      if (r.i64()) {
        if (!in) in = node->input->open();
        in->restore(r);
      } else {
        in.reset();
      }
    }
  };
  std::unique_ptr<Source> open() const override {
    auto s = std::make_unique<It>();
    s->node = this;
    if (count != 0) s->in = input->open();
    return s;
  }
  int64_t cardinality() const override {
    int64_t n = input->cardinality();
    if (count < 0) return n == 0 ? 0 : -1;
    int64_t total;
    if (n < 0 || __builtin_mul_overflow(n, count, &total)) return n == 0 ? 0 : -1;  // more than an int64 counts
    return total;
  }
  bool infinite() const override { return input->infinite() || (count < 0 && input->cardinality() != 0); }
  std::string describe() const override { return detail::str_cat("repeat[", count, "](", input->describe(), ")"); }
};

struct Take : Dataset::Node {
  std::shared_ptr<const Dataset::Node> input;
  int64_t count;
  struct It : Source {
    const Take* node;
    std::unique_ptr<Source> in;
    int64_t taken = 0;
    std::optional<Element> next() override {
      if (in->rows()) {  // the row-index form passes through: batches gather rows
        auto k = next_index();
        if (!k) return std::nullopt;
        return row_at(*in->rows(), *k);
      }
      if (node->count >= 0 && taken >= node->count) return std::nullopt;
      auto e = in->next();
      if (e) ++taken;
      return e;
    }
    const Element* rows() const override { return in->rows(); }
    std::optional<int64_t> next_index() override {
      if (node->count >= 0 && taken >= node->count) return std::nullopt;
      auto k = in->next_index();
      if (k) ++taken;
      return k;
    }
    void save(StateWriter& w) override {
      w.i64(taken);
      in->save(w);
    }
    void restore(StateReader& r) override {
      taken = r.i64();
      in->restore(r);
    }
  };
  std::unique_ptr<Source> open() const override { return open_over<It>(this); }
  int64_t cardinality() const override {
    int64_t n = input->cardinality();
    if (count < 0) return n;
    return n < 0 ? count : std::min(n, count);
  }
  bool infinite() const override { return count < 0 && input->infinite(); }
  std::string describe() const override { return detail::str_cat("take[", count, "](", input->describe(), ")"); }
};

// Every num-th element from index on.
struct Shard : Dataset::Node {
  std::shared_ptr<const Dataset::Node> input;
  int64_t num, index;
  struct It : Source {
    const Shard* node;
    std::unique_ptr<Source> in;
    bool started = false;
    // Skips to this shard's next element: `index` first, then num - 1 between.
    template <typename T, typename Pull>
    std::optional<T> advance(Pull pull) {
      int64_t skip = started ? node->num - 1 : node->index;
      started = true;
      for (int64_t k = 0; k < skip; ++k)
        if (!pull()) return std::nullopt;
      return pull();
    }
    std::optional<Element> next() override {
      if (in->rows()) {
        auto k = next_index();
        if (!k) return std::nullopt;
        return row_at(*in->rows(), *k);
      }
      return advance<Element>([&] { return in->next(); });
    }
    const Element* rows() const override { return in->rows(); }
    std::optional<int64_t> next_index() override {
      return advance<int64_t>([&] { return in->next_index(); });
    }
    void save(StateWriter& w) override {
      w.i64(started);
      in->save(w);
    }
    void restore(StateReader& r) override {
      started = r.i64() != 0;
      in->restore(r);
    }
  };
  std::unique_ptr<Source> open() const override { return open_over<It>(this); }
  int64_t cardinality() const override {
    int64_t n = input->cardinality();
    if (n < 0) return n;
    return n <= index ? 0 : (n - index - 1) / num + 1;
  }
  bool infinite() const override { return input->infinite(); }
  std::string describe() const override { return detail::str_cat("shard[", num, ",", index, "](", input->describe(), ")"); }
};

// A producer thread filling a bounded queue; errors travel with the queue.
// Saving parks the producer between elements and writes the queue (as
// host tensors) and the input's state; restoring stops it, restores the
// input, puts the saved elements back (on the device) and starts it again.
struct Prefetch : Dataset::Node {
  std::shared_ptr<const Dataset::Node> input;
  int64_t buffer;
  std::optional<Device> device;
  struct It : Source {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Element> queue;
    bool finished = false, stop = false, pulling = false;
    bool exhausted = false;  // the input ended (or failed): nothing more to pull
    std::exception_ptr error;
    std::thread worker;
    std::unique_ptr<Source> in;
    int64_t cap = 1;
    std::optional<Device> device;

    void start() {
      finished = stop = exhausted = false;
      error = nullptr;
      worker = std::thread([this] { produce(); });
    }
    void halt() {
      {
        std::lock_guard<std::mutex> lock(mu);
        stop = true;
      }
      cv.notify_all();
      if (worker.joinable()) worker.join();
    }
    void produce() {
      // The pipeline runs on one core, beside the step's threads, as
      // tf.data runs on its own pool rather than the intra-op one.
      set_cpu_threads_for_this_thread(1);
      try {
        std::optional<DeviceFeeder> feeder;
        if (device) feeder.emplace(*device);
        while (true) {
          {
            std::unique_lock<std::mutex> lock(mu);
            cv.wait(lock, [&] { return stop || static_cast<int64_t>(queue.size()) < cap; });
            if (stop) break;
            pulling = true;
          }
          auto e = in->next();
          if (e && feeder)
            for (Tensor& t : *e) t = feeder->feed(t);
          std::lock_guard<std::mutex> lock(mu);
          pulling = false;
          cv.notify_all();
          if (!e) {
            exhausted = true;
            break;
          }
          queue.push_back(std::move(*e));
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        pulling = false;
        exhausted = true;
        error = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mu);
      finished = true;
      cv.notify_all();
    }
    std::optional<Element> next() override {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !queue.empty() || finished; });
      if (!queue.empty()) {
        Element e = std::move(queue.front());
        queue.pop_front();
        cv.notify_all();
        return e;
      }
      if (error) std::rethrow_exception(error);
      return std::nullopt;
    }
    void save(StateWriter& w) override {
      // Park the producer between elements: the input's state then matches the queue.
      std::unique_lock<std::mutex> lock(mu);
      stop = true;
      cv.notify_all();
      cv.wait(lock, [&] { return !pulling; });
      if (error) std::rethrow_exception(error);
      const bool ended = exhausted;
      w.i64(ended);
      w.i64(static_cast<int64_t>(queue.size()));
      for (const Element& e : queue) w.element(e);
      lock.unlock();
      halt();  // (the parked producer leaves its loop)
      in->save(w);
      if (ended)
        exhausted = finished = true;
      else
        start();  // (the queue is as it was: the producer fills what room is left)
    }
    void restore(StateReader& r) override {
      halt();
      queue.clear();
      bool ended = r.i64() != 0;
      int64_t n = r.i64();
      if (n < 0 || n > cap) StateReader::corrupt();
      std::deque<Element> saved;
      for (int64_t k = 0; k < n; ++k) saved.push_back(r.element(device.value_or(Device::cpu())));
      in->restore(r);
      queue = std::move(saved);
      if (ended)
        exhausted = finished = true;
      else
        start();
    }
    ~It() override { halt(); }
  };
  std::unique_ptr<Source> open() const override {
    auto s = std::make_unique<It>();
    s->in = input->open();
    s->cap = std::max<int64_t>(buffer, 1);
    s->device = device;
    s->start();
    return s;
  }
  int64_t cardinality() const override { return input->cardinality(); }
  bool infinite() const override { return input->infinite(); }
  std::string describe() const override { return detail::str_cat("prefetch[", buffer, "](", input->describe(), ")"); }
};

}  // namespace

Dataset Dataset::from_tensor_slices(Element tensors) {
  EMBER_CHECK(!tensors.empty(), InvalidArgument, "[data::Dataset::from_tensor_slices] no tensors");
  auto node = std::make_shared<Slices>();
  for (const Tensor& t : tensors) {
    EMBER_CHECK(t.defined() && t.rank() >= 1, InvalidArgument,
                "[data::Dataset::from_tensor_slices] every tensor needs a first dimension");
    EMBER_CHECK(t.dim(0) == tensors[0].dim(0), InvalidArgument,
                "[data::Dataset::from_tensor_slices] first dimensions differ: ", tensors[0].dim(0),
                " and ", t.dim(0));
  }
  node->n = tensors[0].dim(0);
  node->tensors = std::move(tensors);
  return Dataset(node);
}

Dataset Dataset::shuffle(int64_t buffer_size, std::optional<int64_t> seed, bool reshuffle) const {
  EMBER_CHECK(buffer_size > 0, InvalidArgument, "[data::Dataset::shuffle] buffer_size must be positive, got ", buffer_size);
  auto node = std::make_shared<Shuffle>();
  node->input = node_;
  node->buffer = buffer_size;
  node->seed = seed ? *seed : random::next_seed();
  node->reshuffle = reshuffle;
  return Dataset(node);
}

Dataset Dataset::batch(int64_t batch_size, bool drop_remainder) const {
  EMBER_CHECK(batch_size > 0, InvalidArgument, "[data::Dataset::batch] batch_size must be positive, got ", batch_size);
  auto node = std::make_shared<Batch>();
  node->input = node_;
  node->size = batch_size;
  node->drop = drop_remainder;
  return Dataset(node);
}

Dataset Dataset::map(std::function<Element(const Element&)> fn) const {
  EMBER_CHECK(fn != nullptr, InvalidArgument, "[data::Dataset::map] no function");
  auto node = std::make_shared<Map>();
  node->input = node_;
  node->fn = std::move(fn);
  return Dataset(node);
}

Dataset Dataset::repeat(int64_t count) const {
  EMBER_CHECK(count >= -1, InvalidArgument, "[data::Dataset::repeat] count must be -1 (forever) or >= 0, got ", count);
  auto node = std::make_shared<Repeat>();
  node->input = node_;
  node->count = count;
  return Dataset(node);
}

Dataset Dataset::take(int64_t count) const {
  EMBER_CHECK(count >= -1, InvalidArgument, "[data::Dataset::take] count must be -1 (all) or >= 0, got ", count);
  auto node = std::make_shared<Take>();
  node->input = node_;
  node->count = count;
  return Dataset(node);
}

Dataset Dataset::prefetch(int64_t buffer_size, std::optional<Device> device) const {
  auto node = std::make_shared<Prefetch>();
  node->input = node_;
  node->buffer = buffer_size;
  node->device = device;
  return Dataset(node);
}

Dataset Dataset::shard(int64_t num_shards, int64_t index) const {
  EMBER_CHECK(num_shards > 0, InvalidArgument, "[data::Dataset::shard] num_shards must be positive, got ", num_shards);
  EMBER_CHECK(index >= 0 && index < num_shards, InvalidArgument, "[data::Dataset::shard] index must be in [0, ",
              num_shards, "), got ", index);
  auto node = std::make_shared<Shard>();
  node->input = node_;
  node->num = num_shards;
  node->index = index;
  return Dataset(node);
}

Dataset::Iterator Dataset::iterator() const {
  auto impl = std::make_unique<Iterator::Impl>();
  impl->root = node_;
  impl->source = node_->open();
  return Iterator(std::move(impl));
}

std::shared_ptr<Dataset::Iterator> Dataset::make_iterator() const {
  return std::make_shared<Iterator>(iterator());
}

int64_t Dataset::cardinality() const { return node_->cardinality(); }
bool Dataset::infinite() const { return node_->infinite(); }

}  // namespace ember::data
