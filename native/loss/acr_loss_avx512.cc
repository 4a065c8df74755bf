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
  using F = __m512;
  using I = __m512i;
  using M = __mmask16;
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
  static F abs(F x) { return _mm512_abs_ps(x); }
  static F sign_bits(F x) { return _mm512_and_ps(_mm512_set1_ps(-0.0f), x); }
  static F xor_(F a, F b) { return _mm512_xor_ps(a, b); }
  static F round(F x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

  static M lt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M gt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M nge(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_NGE_UQ); }
  static M nle(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_NLE_UQ); }
  static M mor(M a, M b) { return static_cast<M>(a | b); }
  static M none() { return 0; }
  static bool any(M m) { return m != 0; }
  static F select(M m, F if_false, F if_true) { return _mm512_mask_blend_ps(m, if_false, if_true); }
  static F keep(M m, F x) { return _mm512_maskz_mov_ps(m, x); }

  // x = m 2^e with m in [0.5, 1): getmant/getexp handle denormals themselves; 0 becomes
  // the smallest denormal (log about -103: finite, callers guard a = 0 themselves).
  static F frexp(F x, F& e) {
    x = max(set1(1.40129846e-45f), x);
    e = add(_mm512_getexp_ps(x), set1(1.0f));
    return _mm512_getmant_ps(x, _MM_MANT_NORM_p5_1, _MM_MANT_SIGN_zero);
  }
  // y 2^n in one instruction (handles denormal results and overflow).
  static F ldexp(F y, F n) { return _mm512_scalef_ps(y, n); }

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
