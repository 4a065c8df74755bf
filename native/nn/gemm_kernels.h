// Micro-kernels: C[MR x NR] (+)= sum_k a[k*MR + i] * b[k*NR + j], a and b packed panels.
#pragma once

#include <cstdint>

namespace acr {
namespace nn {

using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate);

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
