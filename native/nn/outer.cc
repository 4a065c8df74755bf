#include "nn/outer.h"

#include <algorithm>

#include "common/cpu_features.h"
#include "common/threadpool.h"
#include "nn/gemm.h"
#include "nn/workspace.h"

namespace acr {
namespace nn {
namespace {

// Lanes computed per useful lane when n channels go in vectors of w.
double waste(int64_t n, int w) { return static_cast<double>((n + w - 1) / w * w) / static_cast<double>(n); }

// Pixels per thread below which splitting the depth costs more than it saves.
constexpr int64_t kMinDepthPerThread = 2048;

bool outer_tn_fits(int64_t M, int64_t N, int64_t K) {
  // Measured against the general GEMM on the 1x1 filter gradients of MobileNetV2 x0.5-1.0 (one
  // thread, AVX-512 machine): 0.44-0.78x its time where the output holds <= 8192 values, except
  // where the GEMM's 16-wide tiles are full and its rows many (M >= 96, M >= 3N, N a multiple of
  // 16: 96->16, 96->32, 192->32 took 1.02-1.12x), and where the depth is too short to amortise
  // the output's stores.
  if (M <= 0 || N <= 0 || M * N > 8192 || K < 8 * std::max(M, N)) return false;
  return !(N % 16 == 0 && M >= 96 && M >= 3 * N);
}

// C (ldc) = A^T B (+ C when accumulate) by the outer-product kernel, the depth split into
// per-thread partial sums when it is long enough.
void outer_tn(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
              int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  const OuterKernel o = outer_kernel_for_cpu();
  // Vectorise along the side that fills the lanes better (the wider one on a tie).
  const double wa = waste(M, o.lanes), wb = waste(N, o.lanes);
  const bool along_a = wa < wb || (wa == wb && M >= N);
  const int64_t P = along_a ? M : N, Q = along_a ? N : M;
  const float* u = along_a ? A : B;
  const float* v = along_a ? B : A;
  const int64_t ldu = along_a ? lda : ldb, ldv = along_a ? ldb : lda;
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(num_threads(), K / kMinDepthPerThread));
  if (parts == 1) {
    o.fn(P, Q, K, u, ldu, v, ldv, 1, C, along_a ? ldc : 1, along_a ? 1 : ldc, accumulate);
    return;
  }
  // Each part sums its depth range into its own M x N buffer (row-major); then they are added.
  float* partial = scratch(Slot::Partial, static_cast<size_t>(parts * M * N));
  parallel_for(parts, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t k0 = K * t / parts, k1 = K * (t + 1) / parts;
      o.fn(P, Q, k1 - k0, u + k0 * ldu, ldu, v + k0 * ldv, ldv, 1, partial + t * M * N, along_a ? N : 1, along_a ? 1 : N, false);
    }
  });
  add_parts(partial, parts, M, N, C, ldc, accumulate);
}

}  // namespace

// Chosen per call: tests switch the instruction set at run time.
OuterKernel outer_kernel_for_cpu() {
#if defined(__x86_64__) || defined(_M_X64)
  switch (best_isa()) {
    case Isa::Avx512: return outer_avx512();
    case Isa::Avx2: return outer_avx2();
    default: break;
  }
#endif
  return outer_scalar();
}

void gemm_tn(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
             bool accumulate) {
  if (outer_tn_fits(M, N, K)) outer_tn(M, N, K, A, lda, B, ldb, C, N, accumulate);
  else gemm(M, N, K, StridedSource(A, 1, lda), StridedSource(B, 1, ldb), C, N, accumulate);
}

}  // namespace nn
}  // namespace acr
