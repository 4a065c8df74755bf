// The SIMD kernels, written once over a traits type V (AVX2 or AVX-512; see acr_loss_avx2.cc
// and acr_loss_avx512.cc, which instantiate them with their own compiler flags). Everything
// here is a template on V, so each ISA gets its own copies and nothing is shared across
// translation units compiled with different flags.
//
// Vector log/exp follow Cephes (logf/expf): float32 accuracy of about 1-2 ulp, extended so that
// log accepts denormals and exp returns denormals and 0 instead of clamping at 2^-126.
#pragma once

#include <cfloat>
#include <cstdint>
#include <cstring>

#include "loss/loss_impl.h"

namespace acr {
namespace loss {
namespace simd {

template <class V>
struct Math {
  using F = typename V::F;

  // Natural log for x >= 0 (x = 0 gives a finite value near -100: callers guard a = 0 themselves).
  static inline F log(F x) {
    F e;
    x = V::frexp(x, e);  // x = m 2^e, m in [0.5, 1); denormals handled, 0 treated as 2^-149
    const auto small = V::lt(x, V::set1(0.707106781186547524f));
    const F tmp = V::keep(small, x);
    x = V::sub(x, V::set1(1.0f));
    e = V::sub(e, V::keep(small, V::set1(1.0f)));
    x = V::add(x, tmp);
    const F z = V::mul(x, x);
    F y = V::set1(7.0376836292E-2f);
    y = V::fmadd(y, x, V::set1(-1.1514610310E-1f));
    y = V::fmadd(y, x, V::set1(1.1676998740E-1f));
    y = V::fmadd(y, x, V::set1(-1.2420140846E-1f));
    y = V::fmadd(y, x, V::set1(1.4249322787E-1f));
    y = V::fmadd(y, x, V::set1(-1.6668057665E-1f));
    y = V::fmadd(y, x, V::set1(2.0000714765E-1f));
    y = V::fmadd(y, x, V::set1(-2.4999993993E-1f));
    y = V::fmadd(y, x, V::set1(3.3333331174E-1f));
    y = V::mul(V::mul(y, x), z);
    y = V::fmadd(e, V::set1(-2.12194440e-4f), y);
    y = V::fnmadd(z, V::set1(0.5f), y);
    x = V::add(x, y);
    return V::fmadd(e, V::set1(0.693359375f), x);
  }

  // e^x; underflows gracefully through the denormals to 0, overflows to +Inf.
  static inline F exp(F x) {
    x = V::min(x, V::set1(88.7228317f));
    x = V::max(x, V::set1(-104.0f));
    const F fx = V::round(V::mul(x, V::set1(1.44269504088896341f)));
    x = V::fnmadd(fx, V::set1(0.693359375f), x);
    x = V::fnmadd(fx, V::set1(-2.12194440e-4f), x);
    const F z = V::mul(x, x);
    F y = V::set1(1.9875691500E-4f);
    y = V::fmadd(y, x, V::set1(1.3981999507E-3f));
    y = V::fmadd(y, x, V::set1(8.3334519073E-3f));
    y = V::fmadd(y, x, V::set1(4.1665795894E-2f));
    y = V::fmadd(y, x, V::set1(1.6666665459E-1f));
    y = V::fmadd(y, x, V::set1(5.0000001201E-1f));
    y = V::add(V::fmadd(y, z, x), V::set1(1.0f));
    return V::ldexp(y, fx);  // y 2^fx, through the denormals down to 0
  }
};

// A vector with a lane the vector path does not cover (|d| huge, NaN, Inf) goes element by
// element through the float64 scalar definition, which saturates float32 outputs.
template <class Elem>
inline void scalar_vector(int width, const float* W8, const float* DY, float* LE, float* GR, float gscale,
                          double& sum, uint32_t& flags, Elem elem) {
  for (int j = 0; j < width; ++j) {
    const float w = W8 ? W8[j] : 1.0f;
    if (!(w >= 0.0f && w <= FLT_MAX)) flags |= kBadWeight;
    const ElementOut e = elem(j, w);
    sum += e.loss;
    if (LE) LE[j] = saturate(e.loss);
    if (GR) GR[j] = saturate(e.grad * gscale * (DY ? DY[j] : 1.0f));
  }
}

// Writes the outputs of one vector and adds its losses to the float64 accumulator.
template <class V>
inline void finish(typename V::F l, typename V::F g, const float* W8, const float* DY, float* LE, float* GR,
                   typename V::F gscale, typename V::Acc& acc, typename V::M& bad_w) {
  using F = typename V::F;
  if (W8) {
    const F w = V::loadu(W8);
    bad_w = V::mor(bad_w, V::mor(V::nge(w, V::zero()), V::nle(w, V::set1(FLT_MAX))));
    l = V::mul(l, w);
    g = V::mul(g, w);
  }
  V::accumulate(acc, l);
  if (LE) V::storeu(LE, l);
  if (GR) {
    g = V::mul(g, gscale);
    if (DY) g = V::mul(g, V::loadu(DY));
    // Products of finite values can overflow; saturate like the scalar kernel (NaN passes).
    g = V::max(V::min(g, V::set1(FLT_MAX)), V::set1(-FLT_MAX));
    V::storeu(GR, g);
  }
}

template <class V>
struct AcrStep {
  using F = typename V::F;
  using M = typename V::M;
  const Consts& c;
  F lambda, t, log_t, gscale, ref_c0;
  M bad_phi = V::none(), bad_w = V::none();
  typename V::Acc acc = V::acc_zero();
  double extra = 0;  // float64 sum of the vectors that went through scalar_vector
  uint32_t flags = 0;

  explicit AcrStep(const Consts& cc)
      : c(cc), lambda(V::set1(cc.lambda)), t(V::set1(cc.t)), log_t(V::set1(cc.log_t)),
        gscale(V::set1(cc.grad_scale)), ref_c0(V::set1(0.693147180559945309f)) {}

  inline void operator()(const float* P, const float* G, const float* PH, const float* W8, const float* DY,
                         float* LE, float* GR) {
    const F one = V::set1(1.0f);
    const F d = V::sub(V::loadu(P), V::loadu(G));
    const F a = V::abs(d);
    const F phi_raw = V::loadu(PH);
    bad_phi = V::mor(bad_phi, V::mor(V::nge(phi_raw, V::zero()), V::nle(phi_raw, one)));
    if (V::any(V::nle(a, V::set1(kBigDiff)))) {  // huge, Inf or NaN
      scalar_vector(V::W, W8, DY, LE, GR, c.grad_scale, extra, flags,
                    [&](int j, float w) { return acr_element(P[j], G[j], PH[j], w, c); });
      return;
    }
    const F phi = V::min(V::max(phi_raw, V::zero()), one);  // NaN -> 0 (reported above)
    const F q = V::sub(one, phi);                            // p - 1
    const F p = V::add(q, one);
    // a^q = exp(q ln a); at a = 0 this is exp(-104 q): 1 for q = 0 (0^0 = 1), ~0 otherwise,
    // and both the loss (a * a^q) and the gradient (times sign 0) come out exactly 0.
    const F aq = Math<V>::exp(V::mul(q, Math<V>::log(a)));
    const F ap = V::mul(a, aq);
    const F u = V::add(one, ap);
    const F r = V::div(one, u);
    // log1p(ap) = log(u) + (ap - (u - 1)) / u: exact to float32 even for tiny ap.
    F l = V::mul(lambda, V::fmadd(V::sub(ap, V::sub(u, one)), r, Math<V>::log(u)));
    F g = V::mul(V::mul(lambda, p), V::mul(aq, r));
    g = V::keep(V::gt(a, V::zero()), V::xor_(g, V::sign_bits(d)));  // times sign(d)
    const M quad = V::gt(a, t);
    if (V::any(quad)) {
      F lq;
      if (c.reference) {
        lq = V::fmadd(a, a, V::fmadd(phi, ref_c0, V::set1(-1.0f)));
      } else {
        const F tp = Math<V>::exp(V::mul(p, log_t));  // t^p
        const F u2 = V::add(one, tp);
        const F c1 = V::mul(lambda, V::fmadd(V::sub(tp, V::sub(u2, one)), V::div(one, u2), Math<V>::log(u2)));
        lq = V::fmadd(V::sub(a, t), V::add(a, t), c1);
      }
      l = V::select(quad, l, lq);
      g = V::select(quad, g, V::add(d, d));
    }
    finish<V>(l, g, W8, DY, LE, GR, gscale, acc, bad_w);
  }
};

template <class V>
struct BaseStep {
  using F = typename V::F;
  using M = typename V::M;
  int kind;
  float grad_scale;
  F gscale;
  double extra = 0;  // float64 sum of the vectors that went through scalar_vector
  uint32_t flags = 0;
  M bad_phi = V::none(), bad_w = V::none();
  typename V::Acc acc = V::acc_zero();

  BaseStep(int k, float gs) : kind(k), grad_scale(gs), gscale(V::set1(gs)) {}

  inline void operator()(const float* P, const float* G, const float*, const float* W8, const float* DY, float* LE,
                         float* GR) {
    const F d = V::sub(V::loadu(P), V::loadu(G));
    const F a = V::abs(d);
    if (V::any(V::nle(a, V::set1(kBigDiff)))) {
      scalar_vector(V::W, W8, DY, LE, GR, grad_scale, extra, flags,
                    [&](int j, float w) { return base_element(kind, P[j], G[j], w); });
      return;
    }
    F l, g;
    if (kind == 0) {
      l = V::mul(d, d);
      g = V::add(d, d);
    } else {
      l = a;
      g = V::keep(V::gt(a, V::zero()), V::xor_(V::set1(1.0f), V::sign_bits(d)));
    }
    finish<V>(l, g, W8, DY, LE, GR, gscale, acc, bad_w);
  }
};

// Runs a step over a block: whole vectors in place, the tail through padded copies (padding
// is pred = gt = phi = w = 0, which contributes exactly 0 and is never written back).
template <class V, class Step>
inline BlockResult run_block(const Block& b, Step& step) {
  constexpr int W = V::W;
  int64_t i = 0;
  for (; i + W <= b.n; i += W) {
    step(b.pred + i, b.gt + i, b.phi ? b.phi + i : nullptr, b.w ? b.w + i : nullptr, b.dy ? b.dy + i : nullptr,
         b.loss_elem ? b.loss_elem + i : nullptr, b.grad ? b.grad + i : nullptr);
  }
  const int64_t rest = b.n - i;
  if (rest > 0) {
    alignas(64) float P[W] = {}, G[W] = {}, PH[W] = {}, WT[W] = {}, DY[W] = {}, LE[W], GR[W];
    const size_t bytes = static_cast<size_t>(rest) * sizeof(float);
    std::memcpy(P, b.pred + i, bytes);
    std::memcpy(G, b.gt + i, bytes);
    if (b.phi) std::memcpy(PH, b.phi + i, bytes);
    if (b.w) std::memcpy(WT, b.w + i, bytes);
    if (b.dy) std::memcpy(DY, b.dy + i, bytes);
    step(P, G, PH, b.w ? WT : nullptr, b.dy ? DY : nullptr, LE, GR);
    if (b.loss_elem) std::memcpy(b.loss_elem + i, LE, bytes);
    if (b.grad) std::memcpy(b.grad + i, GR, bytes);
  }
  BlockResult r;
  r.sum = V::acc_sum(step.acc) + step.extra;
  r.flags = step.flags;
  if (V::any(step.bad_phi)) r.flags |= kBadPhi;
  if (V::any(step.bad_w)) r.flags |= kBadWeight;
  return r;
}

// Float64 sum of n floats (the weights, for the weighted mean's normaliser).
template <class V>
double sum_block(const float* x, int64_t n) {
  typename V::Acc acc = V::acc_zero();
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) V::accumulate(acc, V::loadu(x + i));
  double s = V::acc_sum(acc);
  for (; i < n; ++i) s += x[i];
  return s;
}

template <class V>
BlockResult acr_block(const Block& b, const Consts& c) {
  AcrStep<V> step(c);
  return run_block<V>(b, step);
}

template <class V>
BlockResult base_block(int kind, const Block& b, float grad_scale) {
  BaseStep<V> step(kind, grad_scale);
  return run_block<V>(b, step);
}

}  // namespace simd
}  // namespace loss
}  // namespace acr
