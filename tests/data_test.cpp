// nn/data: IDX files (written here, plain and gzipped, and Debian's
// Fashion-MNIST when installed) with every kind of bad file, and the
// Dataset pipeline's semantics.
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include "nn/data.h"
#include "test_util.h"

namespace ember::test {
namespace {

namespace fs = std::filesystem;
using data::Dataset;
using data::Element;

std::string idx_bytes(std::vector<int32_t> dims, const std::vector<uint8_t>& values, uint8_t type = 8) {
  std::string s = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (int32_t d : dims)
    for (int k = 3; k >= 0; --k) s += static_cast<char>((d >> (8 * k)) & 0xff);
  s.append(values.begin(), values.end());
  return s;
}

class DataFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ember_data_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& bytes, bool gz = false) {
    std::string path = (dir_ / name).string();
    if (gz) {
      gzFile f = gzopen(path.c_str(), "wb");
      gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
      gzclose(f);
    } else {
      std::ofstream(path, std::ios::binary) << bytes;
    }
    return path;
  }
  fs::path dir_;
};

template <typename E>
void expect_error(const std::function<void()>& f, const std::string& text) {
  try {
    f();
    ADD_FAILURE() << "no error; expected " << text;
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

TEST_F(DataFiles, ReadsPlainAndGzippedIdx) {
  std::vector<uint8_t> v(2 * 3 * 2);
  std::iota(v.begin(), v.end(), 1);
  for (bool gz : {false, true}) {
    Tensor t = data::read_idx(write(gz ? "a.gz" : "a", idx_bytes({2, 3, 2}, v), gz));
    EXPECT_EQ(t.shape(), (TensorShape{2, 3, 2}));
    EXPECT_EQ(t.dtype(), uint8);
    EXPECT_EQ(values(t), std::vector<double>(v.begin(), v.end()));
  }
}

TEST_F(DataFiles, BadFilesAreErrorsNamingTheFile) {
  std::vector<uint8_t> v(6, 7);
  std::string good = idx_bytes({2, 3}, v);
  std::string missing = (dir_ / "nothing").string();
  expect_error<NotFound>([&] { data::read_idx(missing); }, missing);
  std::string t1 = write("trunc", good.substr(0, good.size() - 2));
  expect_error<DataLoss>([&] { data::read_idx(t1); }, t1 + " is truncated: its header promises 6 bytes of data, the file has 4");
  std::string t2 = write("trunc.gz", good.substr(0, 6), true);
  expect_error<DataLoss>([&] { data::read_idx(t2); }, t2 + " is truncated");
  std::string bad = good;
  bad[0] = 1;
  std::string t3 = write("magic", bad);
  expect_error<DataLoss>([&] { data::read_idx(t3); }, t3 + " is not an IDX file (bad magic number");
  std::string t4 = write("float", idx_bytes({2}, std::vector<uint8_t>(8, 0), 0x0D));
  expect_error<Unimplemented>([&] { data::read_idx(t4); }, "element type 0xd is not supported");
  std::string t5 = write("empty", "");
  expect_error<DataLoss>([&] { data::read_idx(t5); }, "no IDX header");
  // Counts that differ between images and labels.
  write("train-images-idx3-ubyte", idx_bytes({3, 2, 2}, std::vector<uint8_t>(12, 1)));
  write("train-labels-idx1-ubyte", idx_bytes({2}, {1, 2}));
  write("t10k-images-idx3-ubyte", idx_bytes({1, 2, 2}, std::vector<uint8_t>(4, 1)));
  write("t10k-labels-idx1-ubyte", idx_bytes({1}, {0}));
  expect_error<DataLoss>([&] { data::load_mnist(dir_.string()); }, "3 training images but 2 labels");
}

TEST_F(DataFiles, AFlippedBitInTheGzipStreamIsDataLoss) {
  // zlib checks the CRC and length at the end of the stream: a corrupt
  // byte in the data must be found there, not returned as values.
  std::vector<uint8_t> v(4000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i * 7 % 251);
  std::string path = write("good.gz", idx_bytes({40, 100}, v), true);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  int refused = 0, wrong = 0;
  for (size_t pos = 10; pos + 8 < bytes.size(); pos += 7) {  // (not the header, not the trailer's own bytes)
    std::string bad = bytes;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x10);
    std::string p = write("bad.gz", bad);
    try {
      Tensor t = data::read_idx(p);
      wrong += values(t) != std::vector<double>(v.begin(), v.end());
    } catch (const DataLoss&) {
      ++refused;
    }
  }
  EXPECT_EQ(wrong, 0);  // never other values than the file's
  EXPECT_GT(refused, 0);
  // Bytes past what the header promises are an error too.
  std::string longer = write("long", idx_bytes({2}, {1, 2}) + "xyz");
  expect_error<DataLoss>([&] { data::read_idx(longer); }, "holds more than its header promises");
}

TEST(FashionMnist, DebiansFilesLoad) {
  if (!fs::exists(std::string(data::kFashionMnistDir) + "/train-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed (scripts/setup.sh installs it)";
  data::Mnist m = data::load_mnist(data::kFashionMnistDir);
  EXPECT_EQ(m.train_images.shape(), (TensorShape{60000, 28, 28}));
  EXPECT_EQ(m.test_labels.shape(), (TensorShape{10000}));
  auto labels = values(m.test_labels);
  std::vector<int> counts(10, 0);
  for (double l : labels) ++counts[static_cast<size_t>(l)];
  for (int c : counts) EXPECT_EQ(c, 1000);  // Fashion-MNIST's test set is balanced
  EXPECT_EQ(values(m.train_labels)[0], 9);  // the first training image is an ankle boot
}

// The first components of a pass, as plain numbers.
std::vector<std::vector<double>> pass(const Dataset& d) {
  std::vector<std::vector<double>> out;
  auto it = d.iterator();
  while (auto e = it.next()) out.push_back(values((*e)[0]));
  return out;
}

Dataset numbers(int64_t n) {
  return Dataset::from_tensor_slices({range(n), cast(range(n), float32) * 10.0});
}

TEST(DatasetTest, SlicesBatchAndDropRemainder) {
  auto b = pass(numbers(10).batch(4));
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0], (std::vector<double>{0, 1, 2, 3}));
  EXPECT_EQ(b[2], (std::vector<double>{8, 9}));
  EXPECT_EQ(pass(numbers(10).batch(4, true)).size(), 2u);
  EXPECT_EQ(numbers(10).batch(4).cardinality(), 3);
  EXPECT_EQ(numbers(10).batch(4, true).cardinality(), 2);
  // Components stay together, and single elements drop the first axis.
  auto it = numbers(3).iterator();
  auto e = it.next();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ((*e)[1].shape(), TensorShape{});
  EXPECT_EQ((*e)[1].item<float>(), 0.f);
  EXPECT_THROW(Dataset::from_tensor_slices({range(3), range(4)}), InvalidArgument);
}

TEST(DatasetTest, ShuffleIsAPermutationReshuffledEachPass) {
  for (int64_t buffer : {int64_t{1000}, int64_t{7}}) {
    SCOPED_TRACE("buffer " + std::to_string(buffer));
    Dataset d = numbers(100).shuffle(buffer, 42).batch(10);
    auto flat = [](const std::vector<std::vector<double>>& p) {
      std::vector<double> f;
      for (const auto& b : p) f.insert(f.end(), b.begin(), b.end());
      return f;
    };
    auto first = flat(pass(d)), second = flat(pass(d));
    auto sorted = first;
    std::sort(sorted.begin(), sorted.end());
    std::vector<double> all(100);
    std::iota(all.begin(), all.end(), 0);
    EXPECT_EQ(sorted, all);
    EXPECT_NE(first, second);
    EXPECT_NE(first, all);
    // The same seed gives the same sequence of passes.
    Dataset again = numbers(100).shuffle(buffer, 42).batch(10);
    EXPECT_EQ(flat(pass(again)), first);
  }
  // Without reshuffling every pass is the same.
  Dataset fixed = numbers(20).shuffle(20, 1, false);
  EXPECT_EQ(pass(fixed), pass(fixed));
}

TEST(DatasetTest, MapRepeatTakeAndPrefetch) {
  Dataset d = numbers(5).map([](const Element& e) { return Element{e[0] * int64_t{2}}; });
  EXPECT_EQ(pass(d), (std::vector<std::vector<double>>{{0}, {2}, {4}, {6}, {8}}));
  EXPECT_EQ(pass(numbers(3).repeat(2)).size(), 6u);
  EXPECT_EQ(numbers(3).repeat(2).cardinality(), 6);
  EXPECT_EQ(pass(numbers(3).repeat().take(7)).size(), 7u);
  EXPECT_EQ(numbers(3).repeat().cardinality(), -1);
  EXPECT_EQ(pass(numbers(3).take(0)).size(), 0u);
  // Prefetching changes nothing but when elements are made.
  Dataset p = numbers(50).shuffle(50, 3).batch(8).prefetch(2, Device::cpu());
  Dataset q = numbers(50).shuffle(50, 3).batch(8);
  EXPECT_EQ(pass(p), pass(q));
  // An error on the producer thread reaches the consumer.
  Dataset bad = numbers(5).map([](const Element& e) -> Element {
    if (e[0].item<int64_t>() == 3) throw InvalidArgument("element 3 is bad");
    return e;
  }).prefetch(2);
  auto it = bad.iterator();
  int got = 0;
  try {
    while (it.next()) ++got;
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "element 3 is bad");
  }
  EXPECT_EQ(got, 3);
  // Abandoning a prefetching pass stops its thread.
  { auto it2 = numbers(1000).repeat().prefetch(4).iterator(); it2.next(); }
}

TEST(DatasetTest, CardinalityNeverOverflows) {
  EXPECT_EQ(numbers(10).batch(INT64_MAX).cardinality(), 1);
  EXPECT_EQ(pass(numbers(10).batch(INT64_MAX)).size(), 1u);
  EXPECT_EQ(numbers(10).batch(INT64_MAX, true).cardinality(), 0);
  EXPECT_EQ(numbers(10).repeat(int64_t{1} << 62).cardinality(), -1);  // more than an int64 counts: unknown
  EXPECT_EQ(numbers(0).repeat(int64_t{1} << 62).cardinality(), 0);
  EXPECT_EQ(numbers(10).repeat(3).cardinality(), 30);
}

TEST(DatasetTest, ShardGivesEachWorkerItsPart) {
  std::vector<double> seen;
  for (int64_t w = 0; w < 3; ++w) {
    Dataset part = numbers(10).shard(3, w);
    auto p = pass(part);
    EXPECT_EQ(part.cardinality(), static_cast<int64_t>(p.size()));
    for (size_t i = 0; i < p.size(); ++i) EXPECT_EQ(p[i][0], static_cast<double>(w + 3 * static_cast<int64_t>(i)));
    for (const auto& e : p) seen.push_back(e[0]);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_EQ(pass(numbers(10).shard(2, 1).batch(2))[0], (std::vector<double>{1, 3}));
  EXPECT_THROW(numbers(3).shard(2, 2), InvalidArgument);
  EXPECT_THROW(numbers(3).shard(0, 0), InvalidArgument);
}

// An iterator in a checkpoint, saved at every position of a pipeline and
// restored into a fresh one (a new process's: its unseeded shuffle has
// another seed), gives the rest of the uninterrupted pass exactly.
TEST(DatasetTest, ARestoredIteratorGoesOnWhereTheSavedOneWas) {
  auto pipelines = [](int kind) -> Dataset {
    Dataset d = numbers(23);
    switch (kind) {
      case 0: return d.shuffle(23).batch(4).repeat(3).prefetch(2);  // unseeded, reshuffled each pass
      case 1: return d.shuffle(5).map([](const Element& e) { return Element{e[0] * int64_t{3}, e[1]}; }).batch(3);
      case 2: return d.shard(2, 1).repeat().take(30).prefetch(3, Device::cpu());
      default: return d.batch(5).shuffle(3).prefetch(1);  // a shuffle of elements, not of rows
    }
  };
  const std::string dir = temp_dir("iterator_ckpt");
  for (int kind = 0; kind < 4; ++kind) {
    SCOPED_TRACE("pipeline " + std::to_string(kind));
    Dataset d = pipelines(kind);
    auto first = d.make_iterator();
    std::vector<std::vector<double>> straight;
    std::vector<std::string> saved;  // a checkpoint after each element
    Checkpoint ckpt({{"iterator", first}});
    ckpt.save_counter();  // (written too: the restoring Checkpoint makes its own)
    saved.push_back(ckpt.write(dir + "/k" + std::to_string(kind) + "_0"));
    while (auto e = first->next()) {
      straight.push_back(values((*e)[0]));
      saved.push_back(ckpt.write(dir + "/k" + std::to_string(kind) + "_" + std::to_string(straight.size())));
    }
    ASSERT_GE(straight.size(), 5u);
    for (size_t at = 0; at < saved.size(); at += (kind == 0 ? 1 : 3)) {
      auto resumed = pipelines(kind).make_iterator();  // a fresh pipeline, as a new process makes it
      Checkpoint({{"iterator", resumed}}).restore(saved[at]).assert_consumed();
      std::vector<std::vector<double>> rest;
      while (auto e = resumed->next()) rest.push_back(values((*e)[0]));
      EXPECT_EQ(rest, std::vector<std::vector<double>>(straight.begin() + static_cast<std::ptrdiff_t>(at), straight.end()))
          << "restored after " << at << " elements";
    }
  }
  // Another pipeline's state is refused, naming both.
  auto other = numbers(5).batch(2).make_iterator();
  EXPECT_THROW(Checkpoint({{"iterator", other}}).read(dir + "/k1_2"), InvalidArgument);
}

// Prefetching onto a device (on a GPU: through pinned staging slots, reused
// while earlier batches are still in use) gives the same values there.
class PrefetchTest : public DeviceTest {};
TEST_P(PrefetchTest, OntoTheDeviceKeepsEveryValue) {
  Device dev = GetParam();
  Tensor images = cast(reshape(range(0, 64 * 300), {64, 300}), float32);
  Tensor labels = range(0, 64);
  Dataset d = Dataset::from_tensor_slices({images, labels}).batch(5);
  std::vector<Element> ahead, plain;
  for (auto it = d.prefetch(3, dev).iterator(); auto e = it.next();) ahead.push_back(*e);  // all held at once
  for (auto it = d.iterator(); auto e = it.next();) plain.push_back(*e);
  ASSERT_EQ(ahead.size(), plain.size());
  for (size_t i = 0; i < ahead.size(); ++i) {
    for (size_t j = 0; j < 2; ++j) {
      EXPECT_EQ(ahead[i][j].device(), dev);
      EXPECT_EQ(cast(ahead[i][j].to(Device::cpu()), float64).to_vector<double>(),
                cast(plain[i][j], float64).to_vector<double>());
    }
  }
}
EMBER_INSTANTIATE_DEVICE_TESTS(PrefetchTest);

}  // namespace
}  // namespace ember::test
