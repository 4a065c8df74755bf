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

// Every step below runs over K independent vectors (arrays, loops fully unrolled), so that the
// instruction stream interleaves K dependency chains: the chain through log, 2^x, 1/u and log is
// about 150 cycles long, far more than the out-of-order window hides for one vector alone.
#define ACR_EACH _Pragma("GCC unroll 8") for (int k = 0; k < K; ++k)

template <class V>
struct Tables {
  using Lut = typename V::Lut;
  Lut invc, logc, pinvc, plog2c, exp2;
  Tables()
      : invc(V::lut_load(kLogInvc)), logc(V::lut_load(kLogLogc)), pinvc(V::lut_load(kPowInvc)),
        plog2c(V::lut_load(kPowLog2c)), exp2(V::lut_load(kExp2)) {}
};

template <class V, int K>
struct Math {
  using F = typename V::F;
  using I = typename V::I;

  // out = ln m for m in [1, 2).
  static inline void ln_mant(const Tables<V>& T, const F* m, F* out) {
    I idx[K];
    F z[K], pz[K];
    ACR_EACH idx[k] = V::mant_index(m[k]);
    ACR_EACH z[k] = V::fmsub(m[k], V::lut(T.invc, idx[k]), V::set1(1.0f));
    ACR_EACH pz[k] = V::fmadd(V::set1(kLogC5), z[k], V::set1(kLogC4));
    ACR_EACH pz[k] = V::fmadd(pz[k], z[k], V::set1(kLogC3));
    ACR_EACH pz[k] = V::fmadd(pz[k], z[k], V::set1(kLogC2));
    ACR_EACH out[k] = V::add(V::fmadd(V::mul(z[k], z[k]), pz[k], z[k]), V::lut(T.logc, idx[k]));
  }

  // x > 0, finite: log2 x = e + t, e integral, |t| < 1, absolute error of t <= 6.3e-8.
  static inline void log2_parts(const Tables<V>& T, const F* x, F* e, F* t) {
    F m[K], z[K], pz[K];
    I idx[K];
    ACR_EACH m[k] = V::mant12(x[k], e[k]);
    ACR_EACH idx[k] = V::mant_index(m[k]);
    ACR_EACH z[k] = V::fmsub(m[k], V::lut(T.pinvc, idx[k]), V::set1(1.0f));
    ACR_EACH pz[k] = V::fmadd(V::set1(kPowB3), z[k], V::set1(kPowB2));
    ACR_EACH pz[k] = V::fmadd(pz[k], z[k], V::set1(kPowB1));
    ACR_EACH t[k] = V::fmadd(pz[k], z[k], V::lut(T.plog2c, idx[k]));
  }

  // out = x^q from x's log2 parts, q = q_hi + q_lo exactly, q in [0, 2]. The result must lie
  // in [2^-150, 2^127] (denormal results are rounded once).
  static inline void pow_parts(const Tables<V>& T, const F* e, const F* t, const F* q_hi, const F* q_lo, F* out) {
    F hi[K], lo[K], n[K], f[K], pf[K];
    I j[K];
    ACR_EACH hi[k] = V::mul(q_hi[k], e[k]);                                // q_hi e = hi + lo exactly
    ACR_EACH lo[k] = V::fmadd(q_lo[k], e[k], V::fmsub(q_hi[k], e[k], hi[k]));  // + q_lo e
    ACR_EACH V::round16(V::fmadd(q_hi[k], t[k], hi[k]), n[k], j[k]);       // n: multiple of 1/16, j = 16 n
    ACR_EACH f[k] = V::fmadd(q_hi[k], t[k], V::add(V::sub(hi[k], n[k]), lo[k]));  // |f| <= 1/32 (+ rounding)
    ACR_EACH pf[k] = V::fmadd(V::set1(kExpE3), f[k], V::set1(kExpE2));
    ACR_EACH pf[k] = V::mul(V::fmadd(pf[k], f[k], V::set1(kExpE1)), f[k]);
    ACR_EACH {
      const F tj = V::lut(T.exp2, j[k]);                        // 2^(frac(n))
      out[k] = V::scale_floor(V::fmadd(tj, pf[k], tj), n[k], j[k]);  // times 2^floor(n)
    }
  }

  // out = ln(1 + x) for x >= 0 with u = 1 + x (rounded) and r ~ 1/u given; kSmall: u < 2.
  template <bool kSmall>
  static inline void log1p_u(const Tables<V>& T, const F* x, const F* u, const F* r, F* out) {
    F m[K], e[K], t[K];
    ACR_EACH {
      if (kSmall) m[k] = u[k];  // its own mantissa, e = 0
      else m[k] = V::mant12(u[k], e[k]);
    }
    ln_mant(T, m, t);
    ACR_EACH {
      const F err = V::sub(x[k], V::sub(u[k], V::set1(1.0f)));  // 1 + x - u, exact for x <= 1
      out[k] = V::fmadd(err, r[k], kSmall ? t[k] : V::fmadd(e[k], V::set1(kLn2), t[k]));
    }
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

// Applies weights, dy and (unless the step folded it in already) the gradient scale to one
// vector, writes its outputs and returns its (weighted) losses.
template <class V>
inline typename V::F finish(typename V::F l, typename V::F g, const Ptrs& p, typename V::F gscale, bool scale_g,
                            bool saturate_g, typename V::M& bad_w) {
  using F = typename V::F;
  if (p.W8) {
    const F w = V::loadu(p.W8);
    bad_w = V::mor(bad_w, V::mor(V::nge(w, V::zero()), V::nle(w, V::set1(FLT_MAX))));
    l = V::mul(l, w);
    g = V::mul(g, w);
  }
  if (p.LE) V::storeu(p.LE, l);
  if (p.GR) {
    if (scale_g) g = V::mul(g, gscale);
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
  static constexpr int K = V::kUnroll;  // vectors per step on the common path
  const Consts& c;
  Tables<V> T;
  F lambda, t, gscale;
  // The common path covers a <= min(t, 0.99): then a^p < 1 and u = 1 + a^p < 2.
  F t_fast;
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
  // Losses of the common path without the factor lambda (applied once to the block's sum).
  typename V::Acc acc_u = V::acc_zero();
  double extra = 0;  // float64 sum of the vectors that went through scalar_vector
  uint32_t flags = 0;

  double sum() const { return V::acc_sum(acc) + static_cast<double>(c.lambda) * V::acc_sum(acc_u) + extra; }

  static bool normal_product(double x) { return std::fabs(x) >= 1e-30 && std::fabs(x) <= 1e30; }

  explicit AcrStep(const Consts& cc)
      : c(cc), lambda(V::set1(cc.lambda)), t(V::set1(cc.t)), gscale(V::set1(cc.grad_scale)),
        t_fast(V::set1(cc.t < 0.99f ? cc.t : 0.99f)),
        folded(normal_product(static_cast<double>(cc.lambda) * cc.grad_scale)),
        lg(V::set1(folded ? static_cast<float>(static_cast<double>(cc.lambda) * cc.grad_scale) : cc.lambda)),
        gscale_safe(std::fabs(static_cast<double>(cc.grad_scale)) *
                        (2.5 * static_cast<double>(cc.lambda) + 2.5 * static_cast<double>(kBigDiff)) <
                    1e38) {}

  // The log branch for K vectors: l = ln(1 + a^p) (without lambda),
  // g = lg p a^q / (1 + a^p) sign(d). phi must lie in [0, 1]; kSmall: a <= 0.99.
  template <int K, bool kSmall>
  inline void log_branch(const F* d, const F* a, const F* phi, F* l, F* g) const {
    using MK = Math<V, K>;
    const F one = V::set1(1.0f);
    F q_hi[K], q_lo[K], ax[K], ea[K], ta[K], aq[K], ap[K], u[K], r[K];
    ACR_EACH q_hi[k] = V::sub(one, phi[k]);  // q = p - 1 = 1 - phi = q_hi + q_lo
    ACR_EACH q_lo[k] = V::sub(V::sub(one, q_hi[k]), phi[k]);
    // a = 0 is evaluated at the smallest denormal: a^q is then 1 for q = 0 (0^0 = 1) and
    // tiny or 0 otherwise; the loss a a^q and the gradient (times sign 0) are exactly 0.
    ACR_EACH ax[k] = V::max(a[k], V::set1(1.40129846e-45f));
    MK::log2_parts(T, ax, ea, ta);
    MK::pow_parts(T, ea, ta, q_hi, q_lo, aq);
    ACR_EACH ap[k] = V::mul(a[k], aq[k]);
    ACR_EACH u[k] = V::add(one, ap[k]);
    ACR_EACH r[k] = V::recip(u[k]);
    MK::template log1p_u<kSmall>(T, ap, u, r, l);
    ACR_EACH {
      const F lp = V::fmadd(lg, q_hi[k], lg);                  // lg p
      g[k] = V::sign_nz(V::mul(lp, V::mul(aq[k], r[k])), d[k]);  // times sign(d), 0 at d = 0
    }
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
    log_branch<1, false>(&d, &a, &phi, &l, &g);
    l = V::mul(lambda, l);
    if (V::any(special)) {
      F lq;
      if (c.reference) {
        lq = V::fmadd(a, a, V::fmadd(phi, V::set1(0.693147180559945309f), V::set1(-1.0f)));
      } else {
        // C = lambda ln(1 + t^p) - t^2 per lane, added as (a - t)(a + t) + lambda ln(1 + t^p).
        const F q_hi = V::sub(one, phi);
        const F q_lo = V::sub(V::sub(one, q_hi), phi);
        using M1 = Math<V, 1>;
        F et, tt, tq, lc;
        M1::log2_parts(T, &t, &et, &tt);
        M1::pow_parts(T, &et, &tt, &q_hi, &q_lo, &tq);
        const F tp = V::mul(t, tq);  // t^p = t t^q
        const F u2 = V::add(one, tp);
        const F r2 = V::recip(u2);
        M1::template log1p_u<false>(T, &tp, &u2, &r2, &lc);
        const F c1 = V::mul(lambda, lc);
        lq = V::fmadd(V::sub(a, t), V::add(a, t), c1);
      }
      l = V::select(special, l, lq);
      g = V::select(special, g, folded ? V::mul(V::add(d, d), gscale) : V::add(d, d));
    }
    V::accumulate(acc, finish<V>(l, g, p, gscale, !folded, sat, bad_w));
  }

  // K vectors; the common path when every lane has a <= min(t, 0.99) and phi in [0, 1].
  inline void many(const Ptrs& p) {
    F d[K], a[K], phi[K];
    M special = V::none();
#pragma GCC unroll 4
    for (int k = 0; k < K; ++k) {
      d[k] = V::sub(V::loadu(p.P + k * V::W), V::loadu(p.G + k * V::W));
      a[k] = V::abs(d[k]);
      phi[k] = V::loadu(p.PH + k * V::W);
      // a > t or NaN, or phi outside [0, 1] (by its bits: also NaN and -0, which one() takes).
      special = V::mor(special, V::mor(V::nle(a[k], t_fast), V::above_one_bits(phi[k])));
    }
    if (V::any(special)) {
      for (int k = 0; k < K; ++k) one(p.at(k * V::W));
      return;
    }
    const bool sat = !gscale_safe || p.W8 || p.DY;
    F l[K], g[K];
    log_branch<K, true>(d, a, phi, l, g);
    // lambda multiplies each loss only where the per-element losses are wanted.
    const bool scaled = p.LE != nullptr;
#pragma GCC unroll 4
    for (int k = 0; k < K; ++k) {
      if (scaled) l[k] = V::mul(lambda, l[k]);
      l[k] = finish<V>(l[k], g[k], p.at(k * V::W), gscale, !folded, sat, bad_w);
    }
    // Pairwise float32 sums of the K vectors' losses, then one float64 accumulation: at most
    // log2(K) roundings of 2^-24 on sums of non-negative terms.
#pragma GCC unroll 4
    for (int s = 1; s < K; s *= 2)
      for (int k = 0; k + s < K; k += 2 * s) l[k] = V::add(l[k], l[k + s]);
    V::accumulate(scaled ? acc : acc_u, l[0]);
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
  double sum() const { return V::acc_sum(acc) + extra; }

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
    V::accumulate(acc, finish<V>(l, g, p, gscale, true, true, bad_w));
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
  r.sum = step.sum();
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

#undef ACR_EACH

}  // namespace simd
}  // namespace loss
}  // namespace acr
