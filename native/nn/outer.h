// C[M,N] = A^T B for two pixel-major operands: A is K x M (row k at A + k*lda), B is K x N, with
// K (pixels) far larger than M and N. This is the filter gradient of a 1x1 convolution, dW =
// x^T dy, where both tensors are NHWC and the channels are few: the general GEMM's 14x32 tiles
// waste most of their lanes on 8-48 channels and pack both operands for every depth block.
// Here the output stays in registers while the pixels stream past once: a rank-1 update per
// pixel, vectorised along the operand whose channel count fills the vector lanes better.
#pragma once

#include <cstdint>

namespace acr {
namespace nn {

// Whether outer_tn is the better path for these sizes (small output, long depth).
bool outer_tn_fits(int64_t M, int64_t N, int64_t K);

// C (ldc) = A^T B (+ C when accumulate), run on the addon's thread pool (depth split into
// per-thread partial sums when it is long enough).
void outer_tn(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
              int64_t ldc, bool accumulate = false);

// Per-ISA kernel (outer_impl.h): out[p*sp + q*sq] = sum over k in [0, K) of
// u[k*ldu + p] * v[k*ldv + q] (+ out when accumulate), for p < P (the vectorised side) and
// q < Q (the broadcast side).
using OuterFn = void (*)(int64_t P, int64_t Q, int64_t K, const float* u, int64_t ldu, const float* v, int64_t ldv,
                         float* out, int64_t sp, int64_t sq, bool accumulate);
OuterFn outer_scalar();
OuterFn outer_avx2();
OuterFn outer_avx512();
int outer_lanes_scalar();
int outer_lanes_avx2();
int outer_lanes_avx512();

}  // namespace nn
}  // namespace acr
