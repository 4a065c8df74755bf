#include "asm/phi.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/threadpool.h"

namespace acr {
namespace asmodel {

template <typename T>
void phi(const T* x, int64_t n, const Basis& m, PhiMode mode, double epsilon, T* out) {
  const int64_t d = m.d;
  double mean_scale = 0;
  for (int64_t j = 0; j < d; ++j) mean_scale = std::max(mean_scale, std::fabs(m.mean[j]));
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, 4 * m.k * d));
  parallel_for(n, grain, [&](int64_t b, int64_t e) {
    std::vector<double> coeff(static_cast<size_t>(m.k)), recon(static_cast<size_t>(d));
    for (int64_t r = b; r < e; ++r) {
      const T* s = x + r * d;
      smooth_one(m, s, coeff.data(), recon.data());
      double scale = mean_scale, top = 0;
      for (int64_t j = 0; j < d; ++j) scale = std::max(scale, std::fabs(static_cast<double>(s[j])));
      // recon now holds the deviations.
      if (mode == PhiMode::Coordinate) {
        for (int64_t j = 0; j < d; ++j) {
          recon[j] = std::fabs(static_cast<double>(s[j]) - recon[j]);
          top = std::max(top, recon[j]);
        }
      } else {
        for (int64_t j = 0; j + 1 < d; j += 2) {
          const double dist = std::hypot(static_cast<double>(s[j]) - recon[j], static_cast<double>(s[j + 1]) - recon[j + 1]);
          recon[j] = recon[j + 1] = dist;
          top = std::max(top, dist);
        }
      }
      T* o = out + r * d;
      if (top <= epsilon * scale) {
        std::fill(o, o + d, T(0));
      } else {
        // A true division: the largest deviation maps to exactly 1, none above it.
        for (int64_t j = 0; j < d; ++j) o[j] = static_cast<T>(recon[j] / top);
      }
    }
  });
}

template void phi<float>(const float*, int64_t, const Basis&, PhiMode, double, float*);
template void phi<double>(const double*, int64_t, const Basis&, PhiMode, double, double*);

}  // namespace asmodel
}  // namespace acr
