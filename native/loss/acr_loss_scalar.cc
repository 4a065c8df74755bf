// Scalar reference of the ACR loss and the baselines: float64 arithmetic per element. It is
// the fallback on CPUs without AVX2 and the definition the SIMD kernels are tested against.
#include <cfloat>
#include <cmath>

#include "loss/loss_impl.h"

namespace acr {
namespace loss {

float saturate(double x) {
  if (x > FLT_MAX) return FLT_MAX;
  if (x < -FLT_MAX) return -FLT_MAX;
  return static_cast<float>(x);  // NaN stays NaN
}

// pred - gt rounded to float32 as the SIMD kernels round it; only when that overflows is the
// difference taken in float64.
static double difference(float pred, float gt) {
  const float df = pred - gt;
  if (std::isinf(df) && std::isfinite(pred) && std::isfinite(gt))
    return static_cast<double>(pred) - static_cast<double>(gt);
  return df;
}

ElementOut acr_element(float pred, float gt, float phi_in, float w, const Consts& c) {
  const double d = difference(pred, gt);
  const double a = std::fabs(d);
  // NaN phi counts as 0, as in the SIMD kernels (the caller reports it as out of range).
  const double phi = phi_in >= 0.0f ? (phi_in <= 1.0f ? phi_in : 1.0) : 0.0;
  const double p = 2.0 - phi, q = 1.0 - phi;
  const double lambda = c.lambda, t = c.t;
  double l, g;
  if (!(a > t)) {  // includes NaN, which then propagates
    const double aq = a == 0.0 ? (q == 0.0 ? 1.0 : 0.0) : std::pow(a, q);  // a^(p-1); 0^0 = 1
    const double ap = a * aq;
    l = lambda * std::log1p(ap);
    const double sign = d > 0 ? 1.0 : (d < 0 ? -1.0 : d);  // sign(0) = 0, NaN stays NaN
    g = lambda * p * aq / (1.0 + ap) * sign;
  } else {
    if (c.reference) {
      l = a * a + (phi * std::log(2.0) - 1.0);
    } else {
      // (a - t)(a + t) rather than a^2 - t^2: no cancellation just above the threshold.
      l = (a - t) * (a + t) + lambda * std::log1p(std::pow(t, p));
    }
    g = 2.0 * d;
  }
  return {w * l, w * g};
}

double sum_block_scalar(const float* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}

BlockResult acr_block_scalar(const Block& b, const Consts& c) {
  BlockResult r;
  for (int64_t i = 0; i < b.n; ++i) {
    const float phi = b.phi[i];
    if (!(phi >= 0.0f && phi <= 1.0f)) r.flags |= kBadPhi;
    float w = 1.0f;
    if (b.w) {
      w = b.w[i];
      if (!(w >= 0.0f && w <= FLT_MAX)) r.flags |= kBadWeight;
    }
    const ElementOut e = acr_element(b.pred[i], b.gt[i], phi, w, c);
    r.sum += e.loss;
    if (b.loss_elem) b.loss_elem[i] = saturate(e.loss);
    if (b.grad) b.grad[i] = saturate(e.grad * c.grad_scale * (b.dy ? b.dy[i] : 1.0f));
  }
  return r;
}

ElementOut base_element(int kind, float pred, float gt, float w) {
  const double d = difference(pred, gt);
  const double l = kind == 0 ? d * d : std::fabs(d);
  const double g = kind == 0 ? 2.0 * d : (d > 0 ? 1.0 : (d < 0 ? -1.0 : d));
  return {w * l, w * g};
}

BlockResult base_block_scalar(int kind, const Block& b, float grad_scale) {
  BlockResult r;
  for (int64_t i = 0; i < b.n; ++i) {
    float w = 1.0f;
    if (b.w) {
      w = b.w[i];
      if (!(w >= 0.0f && w <= FLT_MAX)) r.flags |= kBadWeight;
    }
    const ElementOut e = base_element(kind, b.pred[i], b.gt[i], w);
    r.sum += e.loss;
    if (b.loss_elem) b.loss_elem[i] = saturate(e.loss);
    if (b.grad) b.grad[i] = saturate(e.grad * grad_scale * (b.dy ? b.dy[i] : 1.0f));
  }
  return r;
}

}  // namespace loss
}  // namespace acr
