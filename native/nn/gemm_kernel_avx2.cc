// AVX2/FMA micro-kernel, 6 rows x 16 columns: 12 ymm accumulators, 2 for B, 1 broadcast.
#include <immintrin.h>

#include "nn/gemm_kernels.h"

namespace acr {
namespace nn {
namespace {

constexpr int MR = 6, NR = 16;

// A(i, k) = a[i*si + k*sk]; UNIT_I: si == 1 (packed panels, column-major A), else sk == 1.
template <bool UNIT_I>
void kernel_6x16_impl(int64_t kc, const float* a, int64_t si, int64_t sk, const float* b, int64_t ldb,
                      float* c, int64_t ldc, bool accumulate) {
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(UNIT_I ? a + i : a + i * si);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += UNIT_I ? sk : 1;
    b += ldb;
  }
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    float* ci = c + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm256_add_ps(acc[i][0], _mm256_loadu_ps(ci));
      acc[i][1] = _mm256_add_ps(acc[i][1], _mm256_loadu_ps(ci + 8));
    }
    _mm256_storeu_ps(ci, acc[i][0]);
    _mm256_storeu_ps(ci + 8, acc[i][1]);
  }
}

void kernel_6x16(int64_t kc, const float* a, int64_t si, int64_t sk, const float* b, int64_t ldb,
                 float* c, int64_t ldc, bool accumulate) {
  if (si == 1) kernel_6x16_impl<true>(kc, a, 1, sk, b, ldb, c, ldc, accumulate);
  else kernel_6x16_impl<false>(kc, a, si, 1, b, ldb, c, ldc, accumulate);
}

}  // namespace

KernelInfo kernel_avx2() { return {kernel_6x16, MR, NR, 256, 6 * 24, 4096, "avx2-6x16"}; }

}  // namespace nn
}  // namespace acr
