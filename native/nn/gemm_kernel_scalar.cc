// Portable micro-kernel, 4 rows x 8 columns (the compiler vectorises it for the baseline ISA).
#include "nn/gemm_kernels.h"

namespace acr {
namespace nn {
namespace {

constexpr int MR = 4, NR = 8;

// A(i, k) = a[i*si + k*sk], B(k, j) = b[k*ldb + j].
void kernel_4x8(int64_t kc, const float* a, int64_t si, int64_t sk, const float* b, int64_t ldb, float* c,
                int64_t ldc, bool accumulate) {
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i * si] * b[j];
    a += sk;
    b += ldb;
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

}  // namespace

KernelInfo kernel_scalar() { return {kernel_4x8, MR, NR, 256, 4 * 32, 4096, "scalar-4x8"}; }

}  // namespace nn
}  // namespace acr
