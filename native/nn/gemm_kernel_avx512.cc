// AVX-512 micro-kernel, 14 rows x 32 columns: 28 zmm accumulators, 2 for B, broadcasts of A
// folded into the FMAs ({1to16}). 14 x 2 FMAs per k against 2 loads keeps the FMA ports busy.
#include <immintrin.h>

#include "nn/gemm_kernels.h"

namespace acr {
namespace nn {
namespace {

constexpr int MR = 14, NR = 32;

// A(i, k) = a[i*si + k*sk]; UNIT_I: si == 1 (packed panels, column-major A), else sk == 1.
template <bool UNIT_I>
void kernel_14x32_impl(int64_t kc, const float* a, int64_t si, int64_t sk, const float* b, int64_t ldb,
                       float* c, int64_t ldc, bool accumulate) {
  __m512 acc[MR][2];
#pragma GCC unroll 14
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    __builtin_prefetch(b + 8 * ldb);
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(UNIT_I ? a[i] : a[i * si]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += UNIT_I ? sk : 1;
    b += ldb;
  }
#pragma GCC unroll 14
  for (int i = 0; i < MR; ++i) {
    float* ci = c + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(ci));
      acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(ci + 16));
    }
    _mm512_storeu_ps(ci, acc[i][0]);
    _mm512_storeu_ps(ci + 16, acc[i][1]);
  }
}

void kernel_14x32(int64_t kc, const float* a, int64_t si, int64_t sk, const float* b, int64_t ldb,
                  float* c, int64_t ldc, bool accumulate) {
  if (si == 1) kernel_14x32_impl<true>(kc, a, 1, sk, b, ldb, c, ldc, accumulate);
  else kernel_14x32_impl<false>(kc, a, si, 1, b, ldb, c, ldc, accumulate);
}

}  // namespace

KernelInfo kernel_avx512() { return {kernel_14x32, MR, NR, 192, 14 * 12, 4096, "avx512-14x32"}; }

}  // namespace nn
}  // namespace acr
