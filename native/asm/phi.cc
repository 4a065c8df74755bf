#include "asm/phi.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace acr {
namespace asmodel {

template <typename T>
void phi(const T* x, int64_t n, const Basis& m, PhiMode mode, double epsilon, T* out) {
  const int64_t d = m.d;
  double mean_scale = 0;
  for (int64_t j = 0; j < d; ++j) mean_scale = std::max(mean_scale, std::fabs(m.mean[j]));
  for_each_smooth(x, n, m, [&](int64_t r, const double* recon) {
    const T* s = x + r * d;
    T* o = out + r * d;
    // The face is read completely (into dev) before o, which may alias s, is written.
    thread_local std::vector<double> dev;
    dev.resize(static_cast<size_t>(d));
    double scale = mean_scale, top = 0;
    for (int64_t j = 0; j < d; ++j) scale = std::max(scale, std::fabs(static_cast<double>(s[j])));
    if (mode == PhiMode::Coordinate) {
      for (int64_t j = 0; j < d; ++j) {
        dev[j] = std::fabs(static_cast<double>(s[j]) - recon[j]);
        top = std::max(top, dev[j]);
      }
    } else {
      for (int64_t j = 0; j + 1 < d; j += 2) {
        const double dx = static_cast<double>(s[j]) - recon[j], dy = static_cast<double>(s[j + 1]) - recon[j + 1];
        double dist = std::sqrt(dx * dx + dy * dy);
        if (!std::isfinite(dist)) dist = std::hypot(dx, dy);  // the squares overflowed
        dev[j] = dev[j + 1] = dist;
        top = std::max(top, dist);
      }
    }
    if (top <= epsilon * scale) {
      std::fill(o, o + d, T(0));
    } else {
      // A true division: the largest deviation maps to exactly 1, none above it.
      for (int64_t j = 0; j < d; ++j) o[j] = static_cast<T>(dev[j] / top);
    }
  });
}

template void phi<float>(const float*, int64_t, const Basis&, PhiMode, double, float*);
template void phi<double>(const double*, int64_t, const Basis&, PhiMode, double, double*);

}  // namespace asmodel
}  // namespace acr
