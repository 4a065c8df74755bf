#include "asm/covariance.h"

#include <algorithm>
#include <vector>

#include "asm/scratch.h"
#include "asm/syrk.h"
#include "common/cpu_features.h"
#include "common/threadpool.h"

namespace acr {
namespace asmodel {
namespace {

// Rows per block: a block (rows x dp doubles, ~100-200 KB) stays in L2 while every tile of
// the accumulator streams over it.
constexpr int64_t kBlockRows = 96;
// Fewer rows than this per thread do not pay for a private dp x dp accumulator.
constexpr int64_t kMinRowsPerPart = 512;

using SyrkFn = void (*)(const double*, int64_t, int64_t, int64_t, double*);

SyrkFn pick_syrk() {
#if defined(__x86_64__) || defined(_M_X64)
  switch (best_isa()) {
    case Isa::Avx512: return syrk_upper_avx512;
    case Isa::Avx2: return syrk_upper_avx2;
    default: break;
  }
#endif
  return syrk_upper_scalar;
}

int64_t num_parts(int64_t n) {
  return std::max<int64_t>(1, std::min<int64_t>(num_threads(), n / kMinRowsPerPart));
}

}  // namespace

template <typename T>
void column_mean(const T* x, int64_t n, int64_t d, double* mean) {
  const int64_t parts = num_parts(n);
  std::vector<double> sums(static_cast<size_t>(parts * d), 0.0);
  parallel_for(parts, 1, [&](int64_t pb, int64_t pe) {
    for (int64_t p = pb; p < pe; ++p) {
      double* s = sums.data() + p * d;
      for (int64_t r = n * p / parts, end = n * (p + 1) / parts; r < end; ++r) {
        const T* row = x + r * d;
        for (int64_t j = 0; j < d; ++j) s[j] += static_cast<double>(row[j]);
      }
    }
  });
  for (int64_t j = 0; j < d; ++j) {
    double s = 0;
    for (int64_t p = 0; p < parts; ++p) s += sums[static_cast<size_t>(p * d + j)];
    mean[j] = s / static_cast<double>(n);
  }
}

template <typename T>
void mean_covariance(const T* x, int64_t n, int64_t d, double* mean, double* cov) {
  column_mean(x, n, d, mean);
  const int64_t dp = (d + kSyrkPad - 1) / kSyrkPad * kSyrkPad;
  const int64_t parts = num_parts(n);
  const SyrkFn syrk = pick_syrk();
  // One zeroed accumulator per part; parts run on different threads.
  Scratch acc_buf(kScratchCovAccumulators, static_cast<size_t>(parts * dp * dp));
  double* acc = acc_buf.data();
  std::fill(acc, acc + parts * dp * dp, 0.0);
  parallel_for(parts, 1, [&](int64_t pb, int64_t pe) {
    Scratch block_buf(kScratchCovBlock, static_cast<size_t>(kBlockRows * dp));
    double* block = block_buf.data();
    std::fill(block, block + kBlockRows * dp, 0.0);  // padding columns stay 0
    for (int64_t p = pb; p < pe; ++p) {
      double* a = acc + p * dp * dp;
      for (int64_t r0 = n * p / parts, end = n * (p + 1) / parts; r0 < end; r0 += kBlockRows) {
        const int64_t rows = std::min(kBlockRows, end - r0);
        for (int64_t r = 0; r < rows; ++r) {
          const T* src = x + (r0 + r) * d;
          double* dst = block + r * dp;
          for (int64_t j = 0; j < d; ++j) dst[j] = static_cast<double>(src[j]) - mean[j];
        }
        syrk(block, rows, d, dp, a);
      }
    }
  });
  const double scale = 1.0 / static_cast<double>(n - 1);
  for (int64_t i = 0; i < d; ++i) {
    for (int64_t j = i; j < d; ++j) {
      double s = 0;
      for (int64_t p = 0; p < parts; ++p) s += acc[static_cast<size_t>(p * dp * dp + i * dp + j)];
      cov[i * d + j] = cov[j * d + i] = s * scale;
    }
  }
}

template void column_mean<float>(const float*, int64_t, int64_t, double*);
template void column_mean<double>(const double*, int64_t, int64_t, double*);
template void mean_covariance<float>(const float*, int64_t, int64_t, double*, double*);
template void mean_covariance<double>(const double*, int64_t, int64_t, double*, double*);

}  // namespace asmodel
}  // namespace acr
