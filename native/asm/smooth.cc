#include "asm/smooth.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/threadpool.h"

namespace acr {
namespace asmodel {

template <typename T>
void smooth_one(const Basis& m, const T* s, double* coeff, double* recon) {
  const int64_t d = m.d;
  for (int64_t j = 0; j < d; ++j) recon[j] = static_cast<double>(s[j]) - m.mean[j];
  for (int64_t i = 0; i < m.k; ++i) {
    const double* v = m.components + i * d;
    double b0 = 0, b1 = 0;  // two chains: half the latency of one
    int64_t j = 0;
    for (; j + 2 <= d; j += 2) {
      b0 += v[j] * recon[j];
      b1 += v[j + 1] * recon[j + 1];
    }
    if (j < d) b0 += v[j] * recon[j];
    const double limit = 3.0 * std::sqrt(std::max(m.eigenvalues[i], 0.0));
    coeff[i] = std::clamp(b0 + b1, -limit, limit);
  }
  for (int64_t j = 0; j < d; ++j) recon[j] = m.mean[j];
  for (int64_t i = 0; i < m.k; ++i) {
    const double* v = m.components + i * d;
    const double b = coeff[i];
    for (int64_t j = 0; j < d; ++j) recon[j] += b * v[j];
  }
}

template <typename T>
void smooth(const T* x, int64_t n, const Basis& m, T* out) {
  const int64_t d = m.d;
  // ~64k multiply-adds per task before a thread is worth waking.
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, 4 * m.k * d));
  parallel_for(n, grain, [&](int64_t b, int64_t e) {
    std::vector<double> coeff(static_cast<size_t>(m.k)), recon(static_cast<size_t>(d));
    for (int64_t r = b; r < e; ++r) {
      smooth_one(m, x + r * d, coeff.data(), recon.data());
      T* o = out + r * d;
      for (int64_t j = 0; j < d; ++j) o[j] = static_cast<T>(recon[j]);
    }
  });
}

template void smooth_one<float>(const Basis&, const float*, double*, double*);
template void smooth_one<double>(const Basis&, const double*, double*, double*);
template void smooth<float>(const float*, int64_t, const Basis&, float*);
template void smooth<double>(const double*, int64_t, const Basis&, double*);

}  // namespace asmodel
}  // namespace acr
