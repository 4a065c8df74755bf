// C[M,N] = A^T B for two pixel-major operands: A is K x M (row k at A + k*lda), B is K x N: the
// filter gradient of a convolution, dW = x^T dy (or im2col(x)^T dy), with NHWC tensors. Where
// the output is small and K (pixels) long, an outer-product kernel does it: the general GEMM's
// 14x32 tiles waste most of their lanes on 8-48 channels and pack both operands for every depth
// block, while here the output stays in registers as the pixels stream past once (a rank-1
// update per pixel, vectorised along the operand whose channel count fills the lanes better).
#pragma once

#include <cstdint>

namespace acr {
namespace nn {

// C (row-major, M x N) = A^T B (+ C when accumulate): the outer-product kernel where it is the
// better path for these sizes, else the GEMM; on the addon's thread pool.
void gemm_tn(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
             bool accumulate);

// Per-ISA kernel (outer_impl.h): out[p*sp + q*sq] = sum over k in [0, K) of
// u[k*ldu + p] * v[k*ldvk + q*ldvq] (+ out when accumulate), for p < P (the vectorised side) and
// q < Q (the broadcast side), with the vector width it was compiled for.
struct OuterKernel {
  void (*fn)(int64_t P, int64_t Q, int64_t K, const float* u, int64_t ldu, const float* v, int64_t ldvk, int64_t ldvq,
             float* out, int64_t sp, int64_t sq, bool accumulate);
  // The same sum with the broadcast side read through offset tables: v[vrow[k] + vcol[q]]
  // (a convolution's input read in place: one table of pixel offsets, one of tap offsets).
  void (*gather)(int64_t P, int64_t Q, int64_t K, const float* u, int64_t ldu, const float* v, const int64_t* vrow,
                 const int64_t* vcol, float* out, int64_t sp, int64_t sq, bool accumulate);
  int lanes;
};
// The kernel for this CPU's best instruction set.
OuterKernel outer_kernel_for_cpu();
OuterKernel outer_scalar();
OuterKernel outer_avx2();
OuterKernel outer_avx512();

}  // namespace nn
}  // namespace acr
