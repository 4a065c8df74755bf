// Micro-kernels: C[MR x NR] (+)= sum_k A(i, k) * b[k*ldb + j], b a packed panel (ldb NR) or B
// read in place (row-major K x N, ldb its row stride), and A(i, k) = a[i*si + k*sk]: a packed
// panel (si 1, sk MR) or A read in place, row-major (si lda, sk 1) or column-major (si 1, sk lda).
// Either si or sk is 1.
#pragma once

#include <cstdint>

namespace acr {
namespace nn {

using MicroKernel = void (*)(int64_t kc, const float* a, int64_t si, int64_t sk, const float* b, int64_t ldb,
                             float* c, int64_t ldc, bool accumulate);

struct KernelInfo {
  MicroKernel fn;
  int mr, nr;
  int64_t kc, mc, nc;  // cache blocking for this kernel
  const char* name;
};

KernelInfo kernel_scalar();
KernelInfo kernel_avx2();
KernelInfo kernel_avx512();

}  // namespace nn
}  // namespace acr
