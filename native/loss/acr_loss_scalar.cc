// Scalar reference of the ACR loss and the baselines: float64 arithmetic per element. It is
// the fallback on CPUs without AVX2 and the definition the SIMD kernels are tested against.
#include <cfloat>
#include <cmath>

#include "loss/element.h"
#include "loss/loss_impl.h"

namespace acr {
namespace loss {

float saturate(double x) { return saturate_impl(x); }

ElementOut acr_element(float pred, float gt, float phi, float w, const Consts& c) {
  return acr_element_impl(pred, gt, phi, w, c.lambda, c.t, c.reference);
}

ElementOut base_element(int kind, float pred, float gt, float w) { return base_element_impl(kind, pred, gt, w); }

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
