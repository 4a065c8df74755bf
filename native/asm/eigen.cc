#include "asm/eigen.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "asm/eigen_kernel.h"
#include "asm/scratch.h"
#include "common/cpu_features.h"

namespace acr {
namespace asmodel {
namespace {

using TridiagonalEigh = bool (*)(double*, int64_t, double*, double*, int64_t);

TridiagonalEigh pick_kernel() {
#if defined(__x86_64__) || defined(_M_X64)
  switch (best_isa()) {
    case Isa::Avx512: return tridiagonal_eigh_avx512;
    case Isa::Avx2: return tridiagonal_eigh_avx2;
    default: break;
  }
#endif
  return tridiagonal_eigh_scalar;
}

}  // namespace

const char* eigh(const double* a, int64_t n, double* values, double* vectors) {
  if (n <= 0) return nullptr;
  // Symmetric part, scaled to max |a| = 1 so that no square overflows or underflows.
  double amax = 0;
  for (int64_t i = 0; i < n * n; ++i) {
    if (!std::isfinite(a[i])) return "the matrix has NaN or Infinity entries";
    amax = std::max(amax, std::fabs(a[i]));
  }
  if (amax == 0) {
    std::fill(values, values + n, 0.0);
    std::fill(vectors, vectors + n * n, 0.0);
    for (int64_t i = 0; i < n; ++i) vectors[i * n + i] = 1;
    return nullptr;
  }
  const double scale = 1.0 / amax;
  Scratch wbuf(kScratchEigenMatrix, static_cast<size_t>(n * n));
  double* w = wbuf.data();
  // The kernels read and write only the upper triangle.
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j) w[i * n + j] = 0.5 * (a[i * n + j] + a[j * n + i]) * scale;

  const int64_t ldz = eigen_row_stride(n);
  Scratch zbuf(kScratchEigenVectors, static_cast<size_t>(n * ldz + n));
  double* z = zbuf.data();
  double* d = z + n * ldz;
  if (!pick_kernel()(w, n, d, z, ldz)) return "the QL iteration did not converge";

  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return d[x] > d[y]; });
  for (int64_t i = 0; i < n; ++i) {
    const int64_t src = order[i];
    values[i] = d[src] * amax;
    const double* zr = z + src * ldz;
    int64_t big = 0;
    for (int64_t j = 1; j < n; ++j)
      if (std::fabs(zr[j]) > std::fabs(zr[big])) big = j;
    const double sign = zr[big] < 0 ? -1.0 : 1.0;
    for (int64_t j = 0; j < n; ++j) vectors[i * n + j] = sign * zr[j];
  }
  return nullptr;
}

}  // namespace asmodel
}  // namespace acr
