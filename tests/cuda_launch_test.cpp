// The host-side halves of the CUDA launchers, which need no GPU to test: the
// broadcast indexer (built on the host, evaluated per element on the device)
// against the broadcasting rule itself, the 16-byte pack widths, and the
// cuBLAS entry points ember opens on first use.
#include "test_util.h"

#if EMBER_WITH_CUDA
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cublas_library.h"

namespace ember::test {
namespace {

// Offset of output element i in an input of shape `in` broadcast to `out`.
int64_t reference_offset(int64_t i, const TensorShape& out, const TensorShape& in) {
  auto idx = unravel(i, out);
  int64_t off = 0, stride = 1;
  for (int d = in.rank() - 1; d >= 0; --d) {
    int o = d + out.rank() - in.rank();
    int64_t k = in.dim(d) == 1 ? 0 : idx[static_cast<size_t>(o)];
    off += k * stride;
    stride *= in.dim(d);
  }
  return off;
}

TEST(CudaLaunchPlans, IndexerFollowsTheBroadcastingRule) {
  struct Case {
    TensorShape out;
    std::vector<TensorShape> ins;
  };
  std::vector<Case> cases = {
      {{4, 3}, {{4, 3}, {3}}},
      {{4, 3}, {{4, 1}, {1, 3}}},
      {{2, 3, 4, 5}, {{2, 1, 4, 1}, {3, 1, 5}}},
      {{2, 3, 4, 5}, {{5}, {2, 3, 4, 5}}},
      {{6, 1, 7}, {{6, 1, 1}, {1, 1, 7}}},
      {{3, 2, 2, 3}, {{3, 1, 2, 1}, {1, 2, 1, 3}, {3, 2, 2, 3}}},  // select: three inputs
      {{2, 2, 2, 2, 2, 2, 2, 2}, {{2, 1, 2, 1, 2, 1, 2, 1}, {1, 2, 1, 2, 1, 2, 1, 2}}},
      {{}, {{}, {}}},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.out.to_debug_string());
    std::vector<Tensor> ins;
    for (const auto& s : k.ins) ins.push_back(zeros(s));
    cuda::Indexer ix = cuda::make_indexer(k.out, ins, "test");
    EXPECT_LE(ix.rank, cuda::kMaxRank);
    for (int64_t i = 0; i < k.out.num_elements(); ++i) {
      int64_t off[3];
      ix.offsets(i, off, static_cast<int>(ins.size()));
      for (size_t n = 0; n < ins.size(); ++n)
        ASSERT_EQ(off[n], reference_offset(i, k.out, k.ins[n])) << "element " << i << " input " << n;
    }
  }
  // Ten alternating broadcast dimensions cannot be collapsed below kMaxRank.
  TensorShape a{2, 1, 2, 1, 2, 1, 2, 1, 2, 1}, b{1, 2, 1, 2, 1, 2, 1, 2, 1, 2},
      out{2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
  std::vector<Tensor> ins = {zeros(a), zeros(b)};
  EXPECT_THROW(cuda::make_indexer(out, ins, "test"), Unimplemented);
}

TEST(CudaLaunchPlans, PacksAreSixteenBytesOfTheWiderType) {
  EXPECT_EQ((cuda::pack_width<float, float>()), 4);
  EXPECT_EQ((cuda::pack_width<double, double>()), 2);
  EXPECT_EQ((cuda::pack_width<float, bool>()), 4);    // compare: float in, bool out
  EXPECT_EQ((cuda::pack_width<bool, double>()), 2);   // cast: the output decides
  EXPECT_EQ((cuda::pack_width<uint8_t, uint8_t>()), 16);
  EXPECT_EQ((cuda::pack_width<bfloat16_t, bfloat16_t>()), 8);
  EXPECT_EQ(sizeof(cuda::Pack<bfloat16_t, 8>), 16u);
  EXPECT_EQ(alignof(cuda::Pack<float, 4>), 16u);
  alignas(16) float buf[8];
  EXPECT_TRUE((cuda::packable<float, 4>(buf)));
  EXPECT_FALSE((cuda::packable<float, 4>(buf + 1)));  // a view at an odd offset goes element-wise
}

// libember does not link cuBLAS (tests/CMakeLists.txt checks its needed
// libraries); the library opens it on first use. Opening it and finding the
// entry points needs no GPU, so a misspelt name shows here, not on a GPU.
TEST(CudaLibraries, CublasOpensOnFirstUseWithEveryEntryPoint) {
  const cuda::CublasLibrary& l = cuda::cublas_library();
  EXPECT_NE(l.create, nullptr);
  EXPECT_NE(l.set_stream, nullptr);
  EXPECT_NE(l.gemm_strided_batched_ex, nullptr);
  ASSERT_NE(l.status_string, nullptr);
  EXPECT_STREQ(l.status_string(CUBLAS_STATUS_NOT_INITIALIZED), "the library was not initialized");  // cuBLAS 13's text
  EXPECT_EQ(&cuda::cublas_library(), &l);  // opened once
}

}  // namespace
}  // namespace ember::test
#endif
