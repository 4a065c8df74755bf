// AVX2 + FMA instantiation of the SIMD kernels (compiled with -mavx2 -mfma; chosen at run time).
#include <immintrin.h>

#include "loss/simd_kernels.h"

namespace acr {
namespace loss {
namespace {

struct Avx2 {
  static constexpr int W = 8;
  // Vectors per step of the ACR kernel's common path: 4 independent chains keep the FP pipes
  // busy (measured on Zen 4: K = 1, 2, 4 gave 3.02 / 2.66 / 2.46 CPU-ns per element).
  static constexpr int kUnroll = 4;
  using F = __m256;
  using I = __m256i;
  using M = __m256;  // lane masks as all-ones / all-zeros floats
  struct Lut {       // a 16-entry float table in two registers
    __m256 lo, hi;
  };
  struct Acc {
    __m256d lo, hi;
  };

  static F set1(float x) { return _mm256_set1_ps(x); }
  static F zero() { return _mm256_setzero_ps(); }
  static F load(const float* p) { return _mm256_load_ps(p); }
  static F loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F x) { _mm256_store_ps(p, x); }
  static void storeu(float* p, F x) { _mm256_storeu_ps(p, x); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F fnmadd(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }
  static F fmsub(F a, F b, F c) { return _mm256_fmsub_ps(a, b, c); }
  static F abs(F x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }
  static F sign_bits(F x) { return _mm256_and_ps(_mm256_set1_ps(-0.0f), x); }
  static F xor_(F a, F b) { return _mm256_xor_ps(a, b); }
  static F round(F x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

  static M lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M nge(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_NGE_UQ); }  // !(a >= b), true for NaN
  static M nle(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_NLE_UQ); }  // !(a <= b), true for NaN
  // Lanes whose bits, read as unsigned, exceed those of 1.0f: > 1, NaN, negative (and -0).
  static M above_one_bits(F x) {
    const I flip = _mm256_set1_epi32(static_cast<int>(0x80000000u));
    const I b = _mm256_xor_si256(_mm256_castps_si256(x), flip);
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(b, _mm256_set1_epi32(static_cast<int>(0x3f800000u ^ 0x80000000u))));
  }
  static M neq(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }  // true for NaN
  static M mor(M a, M b) { return _mm256_or_ps(a, b); }
  static M none() { return _mm256_setzero_ps(); }
  static bool any(M m) { return _mm256_movemask_ps(m) != 0; }
  static F select(M m, F if_false, F if_true) { return _mm256_blendv_ps(if_false, if_true, m); }
  static F keep(M m, F x) { return _mm256_and_ps(m, x); }

  // g sign(d), and 0 where d = +-0.
  static F sign_nz(F g, F d) { return keep(gt(abs(d), zero()), xor_(g, sign_bits(d))); }

  // x = 2^e m with m in [1, 2) for x > 0; denormals are lifted by 2^24 first.
  static F mant12(F x, F& e) {
    const M den = lt(x, set1(FLT_MIN));
    x = select(den, x, mul(x, set1(16777216.0f)));
    const I bits = _mm256_castps_si256(x);
    const I ei = _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127));
    e = sub(_mm256_cvtepi32_ps(ei), keep(den, set1(24.0f)));
    const I m = _mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff));
    return _mm256_castsi256_ps(_mm256_or_si256(m, _mm256_set1_epi32(0x3f800000)));
  }
  // Table index of m in [1, 2): its top 4 mantissa bits (in the low 4 bits; lut reads those).
  static I mant_index(F m) { return _mm256_srli_epi32(_mm256_castps_si256(m), 19); }
  static Lut lut_load(const float* t) { return {_mm256_load_ps(t), _mm256_load_ps(t + 8)}; }
  static F lut(const Lut& t, I idx) {
    const F lo = _mm256_permutevar8x32_ps(t.lo, idx), hi = _mm256_permutevar8x32_ps(t.hi, idx);
    return _mm256_blendv_ps(lo, hi, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)));  // bit 3
  }
  // n = s rounded to a multiple of 1/16 (nearest), k = 16 n.
  static void round16(F s, F& n, I& k) {
    k = _mm256_cvtps_epi32(mul(s, set1(16.0f)));
    n = mul(_mm256_cvtepi32_ps(k), set1(0.0625f));
  }
  // y 2^floor(n) for floor(n) = k >> 4 in [-150, 127], in two steps so that denormal results survive.
  static F scale_floor(F y, F, I k) {
    const I n = _mm256_srai_epi32(k, 4);
    const I n1 = _mm256_srai_epi32(n, 1);
    const I n2 = _mm256_sub_epi32(n, n1);
    auto pow2 = [](I j) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(j, _mm256_set1_epi32(127)), 23)); };
    return mul(mul(y, pow2(n1)), pow2(n2));
  }
  static F recip(F u) { return div(set1(1.0f), u); }

  static Acc acc_zero() { return {_mm256_setzero_pd(), _mm256_setzero_pd()}; }
  static void accumulate(Acc& acc, F x) {
    acc.lo = _mm256_add_pd(acc.lo, _mm256_cvtps_pd(_mm256_castps256_ps128(x)));
    acc.hi = _mm256_add_pd(acc.hi, _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
  }
  static double acc_sum(const Acc& acc) {
    alignas(32) double v[4];
    _mm256_store_pd(v, _mm256_add_pd(acc.lo, acc.hi));
    return (v[0] + v[1]) + (v[2] + v[3]);
  }
};

}  // namespace

double sum_block_avx2(const float* x, int64_t n) { return simd::sum_block<Avx2>(x, n); }
BlockResult acr_block_avx2(const Block& b, const Consts& c) { return simd::acr_block<Avx2>(b, c); }
BlockResult base_block_avx2(int kind, const Block& b, float grad_scale) {
  return simd::base_block<Avx2>(kind, b, grad_scale);
}

}  // namespace loss
}  // namespace acr
