// Micro-kernels: C[MR x NR] (+)= sum_k A(i, k) * b[k*NR + j], b a packed panel; A a packed
// panel (lda == 0: A(i, k) = a[k*MR + i]) or rows of a row-major matrix (A(i, k) = a[i*lda + k]).
#pragma once

#include <cstdint>

namespace acr {
namespace nn {

using MicroKernel = void (*)(int64_t kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                             bool accumulate);

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
