// The scalar definition of one element of the ACR loss and the baselines, in float64. Shared
// by the scalar CPU kernel (acr_loss_scalar.cc) and the CUDA kernel (cuda/loss.cu), so both
// compute exactly the same function. Only baseline-compiled translation units include it.
#pragma once

#include <math.h>

#include "loss/loss_impl.h"

#ifdef __CUDACC__
#define ACR_HD __host__ __device__
#else
#define ACR_HD
#endif

namespace acr {
namespace loss {

// pred - gt rounded to float32 as the SIMD kernels round it (so every kernel picks the same
// branch at a = t); only when that overflows is the difference taken in float64.
ACR_HD inline double element_difference(float pred, float gt) {
  const float df = pred - gt;
  const bool overflow = (df - df != 0.0f) && (pred - pred == 0.0f) && (gt - gt == 0.0f);  // Inf from finite
  return overflow ? static_cast<double>(pred) - static_cast<double>(gt) : static_cast<double>(df);
}

ACR_HD inline ElementOut acr_element_impl(float pred, float gt, float phi_in, float w, float lambda_f, float t_f,
                                          bool reference) {
  const double d = element_difference(pred, gt);
  const double a = fabs(d);
  // NaN phi counts as 0, as in the SIMD kernels (the caller reports it as out of range).
  const double phi = phi_in >= 0.0f ? (phi_in <= 1.0f ? phi_in : 1.0) : 0.0;
  const double p = 2.0 - phi, q = 1.0 - phi;
  const double lambda = lambda_f, t = t_f;
  double l, g;
  if (!(a > t)) {  // includes NaN, which then propagates
    const double aq = a == 0.0 ? (q == 0.0 ? 1.0 : 0.0) : pow(a, q);  // a^(p-1); 0^0 = 1
    const double ap = a * aq;
    l = lambda * log1p(ap);
    const double sign = d > 0 ? 1.0 : (d < 0 ? -1.0 : d);  // sign(0) = 0, NaN stays NaN
    g = lambda * p * aq / (1.0 + ap) * sign;
  } else {
    if (reference) {
      l = a * a + (phi * 0.69314718055994530942 - 1.0);
    } else {
      // (a - t)(a + t) rather than a^2 - t^2: no cancellation just above the threshold.
      l = (a - t) * (a + t) + lambda * log1p(pow(t, p));
    }
    g = 2.0 * d;
  }
  return {w * l, w * g};
}

ACR_HD inline ElementOut base_element_impl(int kind, float pred, float gt, float w) {
  const double d = element_difference(pred, gt);
  const double l = kind == 0 ? d * d : fabs(d);
  const double g = kind == 0 ? 2.0 * d : (d > 0 ? 1.0 : (d < 0 ? -1.0 : d));
  return {w * l, w * g};
}

ACR_HD inline float saturate_impl(double x) {
  if (x > 3.4028234663852886e38) return 3.4028234663852886e38f;
  if (x < -3.4028234663852886e38) return -3.4028234663852886e38f;
  return static_cast<float>(x);  // NaN stays NaN
}

}  // namespace loss
}  // namespace acr
