// The SIMD kernels, written once over a traits type V (AVX2 or AVX-512; see acr_loss_avx2.cc
// and acr_loss_avx512.cc, which instantiate them with their own compiler flags). Everything
// here is a template on V, so each ISA gets its own copies and nothing is shared across
// translation units compiled with different flags.
//
// The ACR element needs a^q = exp(q ln a) (q = p - 1), ln(1 + a^p) and 1 / (1 + a^p). Per
// element the kernel evaluates two table-driven logarithms, one table-driven 2^x and one
// reciprocal, all in float32, built so that a^q is accurate for every a down to the denormals:
//
//   log:  x = 2^e m, m in [1, 2); a 16-entry table (indexed by the top 4 bits of m) gives
//         invc ~ 1/c and logc = -ln(invc) (chosen so that logc is a float to 1e-11); then
//         z = m invc - 1 (one fma), |z| <= 1/34 (1/16 in the first bucket, where c = 1 so that
//         ln of values just above 1 keeps its relative precision), and
//         ln m = logc + z + z^2 P(z), P of degree 3: relative error 3.7e-9 on [-1/34, 1/16].
//   pow:  q ln a / ln 2 = q e + q t log2(e) with q split exactly into q_hi + q_lo (q = 1 - phi
//         rounded to float32 would cost |ln a| 3e-8 relative: 3e-6 at a = 1e-40) and q_hi e
//         split exactly with an fma; rounded to a multiple of 1/16 so that the float32
//         rounding of a large exponent (|q log2 a| up to 149) does not enter the result.
//   2^x:  x = n + j/16 + f, |f| <= 1/32: 2^n (scalef / exponent bits) times a 16-entry table
//         of 2^(j/16) (float32: relative error <= 4.8e-8) times a degree-3 polynomial in f
//         (relative error 1.7e-9).
//   1/u:  AVX-512: rcp14 and one Newton step (relative error ~4e-9 + rounding); AVX2: a division.
//   ln(1 + a^p) = ln(u) + (a^p - (u - 1)) / u with u = 1 + a^p rounded: the second term is the
//         rounding error of u (exact, Fast2Sum), so tiny a^p keeps its relative precision.
// Stated bound, tested over dense sweeps in test/loss-approx.test.ts: loss and gradient within
// 1e-6 relative (plus the float32 denormal quantum) of the float64 definition in element.h;
// the analysis above gives about 3e-7 worst case.
//
// The common path (every lane of K vectors finite with a <= t) has no branch and no blend;
// vectors with a lane above the threshold, or huge/NaN/Inf, take a per-vector path.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "loss/loss_impl.h"

namespace acr {
namespace loss {
namespace simd {

// ln-table for m in [1, 2): bucket i = [1 + i/16, 1 + (i+1)/16); invc ~ 1/(centre), logc = -ln(invc)
// (bucket 0: c = 1). These tables and the polynomials below come from native/loss/gen_math_tables.py.
alignas(64) inline constexpr float kLogInvc[16] = {
    0x1p+0f,        0x1.d43636p-1f, 0x1.badefep-1f, 0x1.a42db0p-1f, 0x1.8f9708p-1f, 0x1.7cf1b6p-1f,
    0x1.6c1380p-1f, 0x1.5caeb8p-1f, 0x1.4e4f2cp-1f, 0x1.41519ep-1f, 0x1.352cfep-1f, 0x1.29dbf4p-1f,
    0x1.1f7356p-1f, 0x1.1593f2p-1f, 0x1.0c8520p-1f, 0x1.040ca6p-1f};
alignas(64) inline constexpr float kLogLogc[16] = {
    0.0f,           0x1.6e32d6p-4f, 0x1.290ddap-3f, 0x1.94c6f2p-3f, 0x1.fbab7ep-3f, 0x1.2ec494p-2f,
    0x1.5d2504p-2f, 0x1.8961fep-2f, 0x1.b47d02p-2f, 0x1.dd127ap-2f, 0x1.0242a6p-1f, 0x1.155a32p-1f,
    0x1.279070p-1f, 0x1.39754ap-1f, 0x1.4a71c2p-1f, 0x1.5adb1ep-1f};
// 2^(j/16), j = 0..15, rounded to float32.
alignas(64) inline constexpr float kExp2[16] = {
    0x1p+0f,        0x1.0b5586p+0f, 0x1.172b84p+0f, 0x1.2387a6p+0f, 0x1.306fe0p+0f, 0x1.3dea64p+0f,
    0x1.4bfdaep+0f, 0x1.5ab07ep+0f, 0x1.6a09e6p+0f, 0x1.7a1148p+0f, 0x1.8ace54p+0f, 0x1.9c4918p+0f,
    0x1.ae89fap+0f, 0x1.c199bep+0f, 0x1.d5818ep+0f, 0x1.ea4afap+0f};
// log2-table for the power (absolute accuracy is what a^q needs, so every bucket is centred):
// pinvc ~ 1/(1 + (i + 1/2)/16), plog2c = -log2(pinvc), |z| <= 1/32.
alignas(64) inline constexpr float kPowInvc[16] = {
    0x1.f07b52p-1f, 0x1.d40f6ap-1f, 0x1.bab976p-1f, 0x1.a418b6p-1f, 0x1.8f9758p-1f, 0x1.7d0532p-1f,
    0x1.6c281ep-1f, 0x1.5c8c4ap-1f, 0x1.4e5cc8p-1f, 0x1.4145d6p-1f, 0x1.3538d4p-1f, 0x1.29f878p-1f,
    0x1.1f8e2ap-1f, 0x1.1596eep-1f, 0x1.0c950ep-1f, 0x1.04230cp-1f};
alignas(64) inline constexpr float kPowLog2c[16] = {
    0x1.6bc048p-5f, 0x1.091ceap-3f, 0x1.ad8968p-3f, 0x1.2445eap-2f, 0x1.6e33b0p-2f, 0x1.b481b0p-2f,
    0x1.f761e6p-2f, 0x1.1c0cf8p-1f, 0x1.3abe08p-1f, 0x1.583d9ap-1f, 0x1.747b00p-1f, 0x1.8fdbd0p-1f,
    0x1.aa23c8p-1f, 0x1.c4318ap-1f, 0x1.dc8f2ep-1f, 0x1.f428aap-1f};
// ln(1 + z) = z + z^2 (c2 + c3 z + c4 z^2 + c5 z^3) on [-1/34, 1/16] (minimax, relative).
constexpr float kLogC2 = -0.5000000596046448f, kLogC3 = 0.3333439826965332f, kLogC4 = -0.2500004172325134f,
                kLogC5 = 0.18771393597126007f;
// 2^f = 1 + f (e1 + e2 f + e3 f^2) on [-0.0316, 0.0316] (minimax, relative).
constexpr float kExpE1 = 0.6931471824645996f, kExpE2 = 0.24023446440696716f, kExpE3 = 0.055502090603113174f;
// log2(1 + z) = z (b1 + b2 z + b3 z^2) on [-0.0316, 0.0316] (minimax, absolute error 6.2e-8).
constexpr float kPowB1 = 1.442694902420044f, kPowB2 = -0.7216460704803467f, kPowB3 = 0.4813061058521271f;
constexpr float kLn2 = 0.693147180559945309f;

template <class V>
struct Math {
  using F = typename V::F;
  using I = typename V::I;
  using Lut = typename V::Lut;

  struct Tables {
    Lut invc, logc, pinvc, plog2c, exp2;
    Tables()
        : invc(V::lut_load(kLogInvc)), logc(V::lut_load(kLogLogc)), pinvc(V::lut_load(kPowInvc)),
          plog2c(V::lut_load(kPowLog2c)), exp2(V::lut_load(kExp2)) {}
  };

  // x > 0, finite (denormals included): ln x = e ln2 + t, e integral, |t| < ln 2.
  static inline void log_parts(const Tables& T, F x, F& e, F& t) {
    const F m = V::mant12(x, e);
    const I idx = V::mant_index(m);
    const F z = V::fmsub(m, V::lut(T.invc, idx), V::set1(1.0f));
    F pz = V::fmadd(V::set1(kLogC5), z, V::set1(kLogC4));
    pz = V::fmadd(pz, z, V::set1(kLogC3));
    pz = V::fmadd(pz, z, V::set1(kLogC2));
    t = V::add(V::fmadd(V::mul(z, z), pz, z), V::lut(T.logc, idx));
  }

  // x > 0, finite: log2 x = e + t, e integral, |t| < 1, absolute error of t <= 6.3e-8.
  static inline void log2_parts(const Tables& T, F x, F& e, F& t) {
    const F m = V::mant12(x, e);
    const I idx = V::mant_index(m);
    const F z = V::fmsub(m, V::lut(T.pinvc, idx), V::set1(1.0f));
    F pz = V::fmadd(V::set1(kPowB3), z, V::set1(kPowB2));
    pz = V::fmadd(pz, z, V::set1(kPowB1));
    t = V::fmadd(pz, z, V::lut(T.plog2c, idx));
  }

  // x^q from x's log2 parts, q = q_hi + q_lo exactly, q in [0, 2]. The result must lie in
  // [2^-150, 2^127] (denormal results are rounded once).
  static inline F pow_parts(const Tables& T, F e, F t, F q_hi, F q_lo) {
    const F hi = V::mul(q_hi, e);                              // q_hi e = hi + lo, exactly
    const F lo = V::fmadd(q_lo, e, V::fmsub(q_hi, e, hi));     // + q_lo e
    F n;
    I k;
    V::round16(V::fmadd(q_hi, t, hi), n, k);                   // n: multiple of 1/16, k = 16 n
    const F f = V::fmadd(q_hi, t, V::add(V::sub(hi, n), lo));  // |f| <= 1/32 (+ rounding)
    const F tj = V::lut(T.exp2, k);                            // 2^(frac(n))
    F pf = V::fmadd(V::set1(kExpE3), f, V::set1(kExpE2));
    pf = V::mul(V::fmadd(pf, f, V::set1(kExpE1)), f);
    return V::scale_floor(V::fmadd(tj, pf, tj), n, k);         // times 2^floor(n)
  }

  // ln(1 + x) for x >= 0 with u = 1 + x (rounded) and r ~ 1/u given.
  static inline F log1p_u(const Tables& T, F x, F u, F r) {
    F e, t;
    log_parts(T, u, e, t);
    const F err = V::sub(x, V::sub(u, V::set1(1.0f)));  // 1 + x - u, exact for x <= 1
    return V::fmadd(err, r, V::fmadd(e, V::set1(kLn2), t));
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

// Pointers of one group of vectors (null where the input or output is absent).
struct Ptrs {
  const float* P;
  const float* G;
  const float* PH;
  const float* W8;
  const float* DY;
  float* LE;
  float* GR;
  Ptrs at(int64_t i) const {
    return {P + i, G + i, PH ? PH + i : nullptr, W8 ? W8 + i : nullptr, DY ? DY + i : nullptr,
            LE ? LE + i : nullptr, GR ? GR + i : nullptr};
  }
};

// Applies weights, dy and the gradient scale to one vector, writes its outputs and returns
// its (weighted) losses.
template <class V>
inline typename V::F finish(typename V::F l, typename V::F g, const Ptrs& p, typename V::F gscale, bool saturate_g,
                            typename V::M& bad_w) {
  using F = typename V::F;
  if (p.W8) {
    const F w = V::loadu(p.W8);
    bad_w = V::mor(bad_w, V::mor(V::nge(w, V::zero()), V::nle(w, V::set1(FLT_MAX))));
    l = V::mul(l, w);
    g = V::mul(g, w);
  }
  if (p.LE) V::storeu(p.LE, l);
  if (p.GR) {
    g = V::mul(g, gscale);  // (a multiply by 1 where the step folded it in: compiled out or cheap)
    if (p.DY) g = V::mul(g, V::loadu(p.DY));
    // Products of finite values can overflow; saturate like the scalar kernel (NaN passes).
    if (saturate_g) g = V::max(V::min(g, V::set1(FLT_MAX)), V::set1(-FLT_MAX));
    V::storeu(p.GR, g);
  }
  return l;
}

template <class V>
struct AcrStep {
  using F = typename V::F;
  using M = typename V::M;
  using MathV = Math<V>;
  static constexpr int K = V::kUnroll;  // vectors per step on the common path
  const Consts& c;
  typename MathV::Tables T;
  F lambda, t, gscale;
  // The log branch's gradient factor lambda p is computed as lg p with lg = lambda grad_scale
  // when that product is a normal float32 (folded: one multiply less), else lg = lambda.
  bool folded;
  F lg;
  // |g| <= 2 lambda |gscale| on the log branch (a^q / (1 + a^p) <= 1) and 2e18 |gscale| on
  // the quadratic one (|d| <= kBigDiff there): when both stay finite, only weights or dy can
  // make the gradient overflow.
  bool gscale_safe;
  M bad_phi = V::none(), bad_w = V::none();
  typename V::Acc acc = V::acc_zero();
  double extra = 0;  // float64 sum of the vectors that went through scalar_vector
  uint32_t flags = 0;

  static bool normal_product(double x) { return std::fabs(x) >= 1e-30 && std::fabs(x) <= 1e30; }

  explicit AcrStep(const Consts& cc)
      : c(cc), lambda(V::set1(cc.lambda)), t(V::set1(cc.t)), gscale(V::set1(cc.grad_scale)),
        folded(normal_product(static_cast<double>(cc.lambda) * cc.grad_scale)),
        lg(V::set1(folded ? static_cast<float>(static_cast<double>(cc.lambda) * cc.grad_scale) : cc.lambda)),
        gscale_safe(std::fabs(static_cast<double>(cc.grad_scale)) *
                        (2.5 * static_cast<double>(cc.lambda) + 2.5 * static_cast<double>(kBigDiff)) <
                    1e38) {}

  // The log branch for one vector: l = lambda ln(1 + a^p), g = lg p a^q / (1 + a^p) sign(d).
  // phi must lie in [0, 1].
  inline void log_branch(F d, F a, F phi, F& l, F& g) const {
    const F one = V::set1(1.0f);
    const F q_hi = V::sub(one, phi);  // q = p - 1 = 1 - phi = q_hi + q_lo
    const F q_lo = V::sub(V::sub(one, q_hi), phi);
    F ea, ta;
    // a = 0 is evaluated at the smallest denormal: a^q is then 1 for q = 0 (0^0 = 1) and
    // tiny or 0 otherwise; the loss a a^q and the gradient (times sign 0) are exactly 0.
    MathV::log2_parts(T, V::max(a, V::set1(1.40129846e-45f)), ea, ta);
    const F aq = MathV::pow_parts(T, ea, ta, q_hi, q_lo);
    const F ap = V::mul(a, aq);
    const F u = V::add(one, ap);
    const F r = V::recip(u);
    l = V::mul(lambda, MathV::log1p_u(T, ap, u, r));
    const F lp = V::fmadd(lg, q_hi, lg);           // lg p
    g = V::sign_nz(V::mul(lp, V::mul(aq, r)), d);  // times sign(d), 0 at d = 0
  }

  // One vector, any input.
  inline void one(const Ptrs& p) {
    const F one = V::set1(1.0f);
    const F d = V::sub(V::loadu(p.P), V::loadu(p.G));
    const F a = V::abs(d);
    const F raw = V::loadu(p.PH);
    const F phi = V::min(V::max(raw, V::zero()), one);  // NaN -> 0
    bad_phi = V::mor(bad_phi, V::neq(raw, phi));        // outside [0, 1] or NaN
    const bool sat = !gscale_safe || p.W8 || p.DY;
    const M special = V::nle(a, t);  // a > t, or NaN
    if (V::any(special) && V::any(V::nle(a, V::set1(kBigDiff)))) {  // huge, Inf or NaN
      scalar_vector(V::W, p.W8, p.DY, p.LE, p.GR, c.grad_scale, extra, flags,
                    [&](int j, float w) { return acr_element(p.P[j], p.G[j], p.PH[j], w, c); });
      return;
    }
    F l, g;
    log_branch(d, a, phi, l, g);
    if (V::any(special)) {
      F lq;
      if (c.reference) {
        lq = V::fmadd(a, a, V::fmadd(phi, V::set1(0.693147180559945309f), V::set1(-1.0f)));
      } else {
        // C = lambda ln(1 + t^p) - t^2 per lane, added as (a - t)(a + t) + lambda ln(1 + t^p).
        const F q_hi = V::sub(one, phi);
        const F q_lo = V::sub(V::sub(one, q_hi), phi);
        F et, tt;
        MathV::log2_parts(T, t, et, tt);
        const F tp = V::mul(t, MathV::pow_parts(T, et, tt, q_hi, q_lo));  // t^p = t t^q
        const F u2 = V::add(one, tp);
        const F c1 = V::mul(lambda, MathV::log1p_u(T, tp, u2, V::recip(u2)));
        lq = V::fmadd(V::sub(a, t), V::add(a, t), c1);
      }
      l = V::select(special, l, lq);
      g = V::select(special, g, folded ? V::mul(V::add(d, d), gscale) : V::add(d, d));
    }
    V::accumulate(acc, finish<V>(l, g, p, folded ? one : gscale, sat, bad_w));
  }

  // K vectors; the common path when every lane has a <= t and phi in [0, 1].
  inline void many(const Ptrs& p) {
    F d[K], a[K], phi[K];
    M special = V::none();
#pragma GCC unroll 4
    for (int k = 0; k < K; ++k) {
      d[k] = V::sub(V::loadu(p.P + k * V::W), V::loadu(p.G + k * V::W));
      a[k] = V::abs(d[k]);
      phi[k] = V::loadu(p.PH + k * V::W);
      // a > t or NaN, or phi outside [0, 1] (by its bits: also NaN and -0, which one() takes).
      special = V::mor(special, V::mor(V::nle(a[k], t), V::above_one_bits(phi[k])));
    }
    if (V::any(special)) {
      for (int k = 0; k < K; ++k) one(p.at(k * V::W));
      return;
    }
    const bool sat = !gscale_safe || p.W8 || p.DY;
    const F gs = folded ? V::set1(1.0f) : gscale;
    F l[K], g[K];
#pragma GCC unroll 4
    for (int k = 0; k < K; ++k) log_branch(d[k], a[k], phi[k], l[k], g[k]);
#pragma GCC unroll 4
    for (int k = 0; k < K; ++k) l[k] = finish<V>(l[k], g[k], p.at(k * V::W), gs, sat, bad_w);
    // Pairwise float32 sums of the K vectors' losses, then one float64 accumulation: at most
    // log2(K) roundings of 2^-24 on sums of non-negative terms.
#pragma GCC unroll 4
    for (int s = 1; s < K; s *= 2)
      for (int k = 0; k + s < K; k += 2 * s) l[k] = V::add(l[k], l[k + s]);
    V::accumulate(acc, l[0]);
  }
};

template <class V>
struct BaseStep {
  using F = typename V::F;
  using M = typename V::M;
  static constexpr int K = 1;
  int kind;
  float grad_scale;
  F gscale;
  double extra = 0;  // float64 sum of the vectors that went through scalar_vector
  uint32_t flags = 0;
  M bad_phi = V::none(), bad_w = V::none();
  typename V::Acc acc = V::acc_zero();

  BaseStep(int k, float gs) : kind(k), grad_scale(gs), gscale(V::set1(gs)) {}

  inline void one(const Ptrs& p) {
    const F d = V::sub(V::loadu(p.P), V::loadu(p.G));
    const F a = V::abs(d);
    if (V::any(V::nle(a, V::set1(kBigDiff)))) {
      scalar_vector(V::W, p.W8, p.DY, p.LE, p.GR, grad_scale, extra, flags,
                    [&](int j, float w) { return base_element(kind, p.P[j], p.G[j], w); });
      return;
    }
    F l, g;
    if (kind == 0) {
      l = V::mul(d, d);
      g = V::add(d, d);
    } else {
      l = a;
      g = V::sign_nz(V::set1(1.0f), d);
    }
    V::accumulate(acc, finish<V>(l, g, p, gscale, true, bad_w));
  }
  inline void many(const Ptrs& p) { one(p); }
};

// Runs a step over a block: groups of K vectors, then single vectors, then the tail through
// padded copies (padding is pred = gt = phi = w = 0, which contributes exactly 0 and is never
// written back).
template <class V, class Step>
inline BlockResult run_block(const Block& b, Step& step) {
  constexpr int W = V::W;
  constexpr int K = Step::K;
  const Ptrs base{b.pred, b.gt, b.phi, b.w, b.dy, b.loss_elem, b.grad};
  int64_t i = 0;
  for (; i + K * W <= b.n; i += K * W) step.many(base.at(i));
  for (; i + W <= b.n; i += W) step.one(base.at(i));
  const int64_t rest = b.n - i;
  if (rest > 0) {
    alignas(64) float P[W] = {}, G[W] = {}, PH[W] = {}, WT[W] = {}, DY[W] = {}, LE[W], GR[W];
    const size_t bytes = static_cast<size_t>(rest) * sizeof(float);
    std::memcpy(P, b.pred + i, bytes);
    std::memcpy(G, b.gt + i, bytes);
    if (b.phi) std::memcpy(PH, b.phi + i, bytes);
    if (b.w) std::memcpy(WT, b.w + i, bytes);
    if (b.dy) std::memcpy(DY, b.dy + i, bytes);
    step.one({P, G, PH, b.w ? WT : nullptr, b.dy ? DY : nullptr, LE, GR});
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
