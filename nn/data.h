// Data: MNIST-format IDX files and a tf.data-like Dataset.
//
// A Dataset is a pipeline of elements (each a vector of tensors): made from
// the rows of in-memory tensors, then shuffle, batch, map, repeat, take and
// prefetch, in any order, as tf.data composes them. Iterating makes one
// pass; each pass reshuffles (reshuffle_each_iteration). Shuffling and
// batching over rows work on row indices and gather a whole batch with one
// op per component, so a pass costs a few ops per batch, not per row.
//
// An iterator is a Trackable, as tf.data's: tracked by a Checkpoint
// (`Checkpoint({{"iterator", it}})`), it saves where it is (every node's
// position, a shuffle's seed, generator and buffer, a prefetch's queue),
// and a restored iterator goes on with the element the saved one would
// have given next, in the same order, in any process.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/tensor.h"
#include "state/trackable.h"

namespace ember::data {

/// An IDX file (MNIST's format), gzipped or not, as a uint8 tensor on the
/// CPU of the shape its header gives. A missing, truncated or malformed file
/// (wrong magic, an element type other than unsigned bytes) is an error
/// naming the file.
Tensor read_idx(const std::string& path);

/// The four files of an MNIST-format dataset: images [n, 28, 28] and labels
/// [n], uint8. Image and label counts must agree.
struct Mnist {
  Tensor train_images, train_labels, test_images, test_labels;
};
/// Reads `dir`/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
Mnist load_mnist(const std::string& dir);
/// Where Debian's dataset-fashion-mnist puts Fashion-MNIST.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

using Element = std::vector<Tensor>;

class Dataset {
 public:
  struct Node;
  /// One pass over the elements (tf.data's iterator). Checkpoints save it
  /// under "ITERATOR_STATE" when it is tracked (make_iterator()).
  class Iterator : public Trackable {
   public:
    /// The next element, or nothing at the end of the pass.
    std::optional<Element> next();
    std::map<std::string, std::shared_ptr<Saveable>> saveables() override;
    struct Impl;
    explicit Iterator(std::unique_ptr<Impl> impl);
    Iterator(Iterator&&) noexcept;
    Iterator& operator=(Iterator&&) noexcept;
    ~Iterator() override;

   private:
    std::unique_ptr<Impl> impl_;
  };

  /// Element i is row i of every tensor (all must have the same first dimension).
  static Dataset from_tensor_slices(Element tensors);
  /// Elements in random order: a buffer of `buffer_size` elements, one drawn
  /// uniformly at each step (a buffer of the dataset's size or more is a
  /// full shuffle). Seeded, each pass's order is reproducible; a new order
  /// every pass unless `reshuffle_each_iteration` is false.
  Dataset shuffle(int64_t buffer_size, std::optional<int64_t> seed = std::nullopt,
                  bool reshuffle_each_iteration = true) const;
  /// Consecutive elements stacked along a new first axis; a short last batch
  /// is kept unless `drop_remainder`.
  Dataset batch(int64_t batch_size, bool drop_remainder = false) const;
  /// `fn` applied to every element.
  Dataset map(std::function<Element(const Element&)> fn) const;
  /// The whole dataset `count` times (-1: forever).
  Dataset repeat(int64_t count = -1) const;
  /// The first `count` elements.
  Dataset take(int64_t count) const;
  /// Elements produced ahead on a background thread, up to `buffer_size`,
  /// moved to `device` when given (onto a GPU through pinned,
  /// double-buffered staging, while the step computes). The pipeline's ops
  /// run on that thread with one CPU thread, beside the step's.
  Dataset prefetch(int64_t buffer_size = 2, std::optional<Device> device = std::nullopt) const;

  /// A new pass over the elements.
  Iterator iterator() const;
  /// A new pass, held to be tracked by a checkpoint (its state saved and restored).
  std::shared_ptr<Iterator> make_iterator() const;
  /// Every `num_shards`-th element from `index` on (tf.data's shard: worker
  /// `index` of `num_shards` reads its part of each pass).
  Dataset shard(int64_t num_shards, int64_t index) const;
  /// Elements in one pass, where it is known without iterating (-1 otherwise).
  int64_t cardinality() const;
  /// Whether a pass never ends (a repeat() without a count over a dataset
  /// with elements; tf.data's infinite cardinality).
  bool infinite() const;

 private:
  explicit Dataset(std::shared_ptr<const Node> node) : node_(std::move(node)) {}
  std::shared_ptr<const Node> node_;
};

}  // namespace ember::data
