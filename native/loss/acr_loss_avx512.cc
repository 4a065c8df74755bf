// AVX-512 (F/DQ) instantiation of the SIMD kernels (compiled with AVX-512 flags; chosen at run time).
// GCC 12 warns "__Y may be used uninitialized" inside its own AVX-512 headers
// (_mm512_undefined_*; GCC bug 105593): a false positive, silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "loss/simd_kernels.h"

namespace acr {
namespace loss {
namespace {

struct Avx512 {
  static constexpr int W = 16;
  // Vectors per step of the ACR kernel's common path: 4 independent chains keep the FP pipes
  // busy (measured on Zen 4: K = 1, 2, 4 gave 1.40 / 1.07 / 1.00 CPU-ns per element).
  static constexpr int kUnroll = 4;
  using F = __m512;
  using I = __m512i;
  using M = __mmask16;
  using Lut = __m512;  // a 16-entry float table in one register
  struct Acc {
    __m512d lo, hi;
  };

  static F set1(float x) { return _mm512_set1_ps(x); }
  static F zero() { return _mm512_setzero_ps(); }
  static F load(const float* p) { return _mm512_load_ps(p); }
  static F loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F x) { _mm512_store_ps(p, x); }
  static void storeu(float* p, F x) { _mm512_storeu_ps(p, x); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F fnmadd(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }
  static F fmsub(F a, F b, F c) { return _mm512_fmsub_ps(a, b, c); }
  static F abs(F x) { return _mm512_abs_ps(x); }
  static F sign_bits(F x) { return _mm512_and_ps(_mm512_set1_ps(-0.0f), x); }
  static F xor_(F a, F b) { return _mm512_xor_ps(a, b); }
  static F round(F x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

  static M lt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M gt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M nge(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_NGE_UQ); }
  static M nle(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_NLE_UQ); }
  // Lanes whose bits, read as unsigned, exceed those of 1.0f: > 1, NaN, negative (and -0).
  static M above_one_bits(F x) {
    return _mm512_cmpgt_epu32_mask(_mm512_castps_si512(x), _mm512_set1_epi32(0x3f800000));
  }
  static M neq(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); }  // true for NaN
  static M mor(M a, M b) { return static_cast<M>(a | b); }
  static M none() { return 0; }
  static bool any(M m) { return m != 0; }
  static F select(M m, F if_false, F if_true) { return _mm512_mask_blend_ps(m, if_false, if_true); }
  static F keep(M m, F x) { return _mm512_maskz_mov_ps(m, x); }

  // g sign(d), and 0 where d = +-0: one masked ternary-logic instruction (g xor (d and -0)).
  static F sign_nz(F g, F d) {
    const I sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
    const M nz = _mm512_test_epi32_mask(_mm512_castps_si512(d), _mm512_set1_epi32(0x7fffffff));
    return _mm512_castsi512_ps(
        _mm512_maskz_ternarylogic_epi32(nz, _mm512_castps_si512(g), _mm512_castps_si512(d), sign, 0x78));
  }

  // x = 2^e m with m in [1, 2) for x > 0; getexp/getmant handle denormals themselves.
  static F mant12(F x, F& e) {
    e = _mm512_getexp_ps(x);
    return _mm512_getmant_ps(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
  }
  // Table index of m in [1, 2): its top 4 mantissa bits (vpermps reads the low 4 bits only).
  static I mant_index(F m) { return _mm512_srli_epi32(_mm512_castps_si512(m), 19); }
  static Lut lut_load(const float* t) { return _mm512_load_ps(t); }
  static F lut(const Lut& t, I idx) { return _mm512_permutexvar_ps(idx, t); }
  // n = s rounded to a multiple of 1/16 (nearest), k = 16 n.
  static void round16(F s, F& n, I& k) {
    n = _mm512_roundscale_ps(s, 0x40 | _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    k = _mm512_cvtps_epi32(mul(n, set1(16.0f)));
  }
  // y 2^floor(n) in one instruction (denormal results rounded once).
  static F scale_floor(F y, F n, I) { return _mm512_scalef_ps(y, n); }
  // 1/u for u in [1, 2^126]: rcp14 (relative error <= 2^-14) and one Newton step.
  static F recip(F u) {
    const F r = _mm512_rcp14_ps(u);
    return fmadd(r, fnmadd(u, r, set1(1.0f)), r);
  }

  static Acc acc_zero() { return {_mm512_setzero_pd(), _mm512_setzero_pd()}; }
  static void accumulate(Acc& acc, F x) {
    acc.lo = _mm512_add_pd(acc.lo, _mm512_cvtps_pd(_mm512_castps512_ps256(x)));
    acc.hi = _mm512_add_pd(acc.hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(x, 1)));
  }
  static double acc_sum(const Acc& acc) { return _mm512_reduce_add_pd(_mm512_add_pd(acc.lo, acc.hi)); }
};

}  // namespace

double sum_block_avx512(const float* x, int64_t n) { return simd::sum_block<Avx512>(x, n); }
BlockResult acr_block_avx512(const Block& b, const Consts& c) { return simd::acr_block<Avx512>(b, c); }
BlockResult base_block_avx512(int kind, const Block& b, float grad_scale) {
  return simd::base_block<Avx512>(kind, b, grad_scale);
}

}  // namespace loss
}  // namespace acr
