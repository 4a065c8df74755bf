// Block projection written once with vector extensions, compiled per ISA by project*.cc.
// Internal linkage: the per-ISA copies never merge at link time.
#pragma once

#include <algorithm>
#include <cstring>

#include "asm/project.h"

namespace acr {
namespace asmodel {
namespace {

template <typename V>
inline V vload(const double* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}

template <typename V>
void project_block(const PaddedBasis& b, const double* c, double* coeff, double* recon) {
  constexpr int64_t W = sizeof(V) / sizeof(double);
  constexpr int64_t R = kProjectRows;
  const int64_t ld = b.ld, k = b.k;
  // Coefficients: each component row is loaded once for all R shapes.
  for (int64_t i = 0; i < k; ++i) {
    const double* v = b.components + i * ld;
    V acc[R];
    for (int64_t r = 0; r < R; ++r) acc[r] = V{};
    for (int64_t j = 0; j < ld; j += W) {
      const V vj = vload<V>(v + j);
      for (int64_t r = 0; r < R; ++r) acc[r] += vload<V>(c + r * ld + j) * vj;
    }
    for (int64_t r = 0; r < R; ++r) {
      double s = 0;
      for (int64_t l = 0; l < W; ++l) s += acc[r][l];
      coeff[r * k + i] = std::clamp(s, -b.limits[i], b.limits[i]);
    }
  }
  // Reconstruction, one column strip at a time with the R partial rows in registers.
  for (int64_t j = 0; j < ld; j += W) {
    V out[R];
    const V mu = vload<V>(b.mean + j);
    for (int64_t r = 0; r < R; ++r) out[r] = mu;
    for (int64_t i = 0; i < k; ++i) {
      const V vj = vload<V>(b.components + i * ld + j);
      for (int64_t r = 0; r < R; ++r) out[r] += coeff[r * k + i] * vj;
    }
    for (int64_t r = 0; r < R; ++r) std::memcpy(recon + r * ld + j, &out[r], sizeof(V));
  }
}

}  // namespace
}  // namespace asmodel
}  // namespace acr
