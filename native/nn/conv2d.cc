#include "nn/conv2d.h"

#include <algorithm>
#include <vector>

#include "common/threadpool.h"
#include "nn/outer.h"
#include "nn/workspace.h"

namespace acr {
namespace nn {
namespace {

bool is_pointwise(const ConvShape& s) {
  return s.KH == 1 && s.KW == 1 && s.sh == 1 && s.sw == 1 && s.pt == 0 && s.pl == 0 && s.OH == s.H && s.OW == s.W;
}

// Writes panel rows whose source is a run of `seg` contiguous floats (or zeros when src is null)
// at depth positions kk.. of row r: d[(kk + s)*w + r].
inline void put_run(float* d, int w, int r, int64_t kk, const float* src, int64_t seg) {
  float* p = d + kk * w + r;
  if (src)
    for (int64_t s = 0; s < seg; ++s) p[s * w] = src[s];
  else
    for (int64_t s = 0; s < seg; ++s) p[s * w] = 0.f;
}

// Zeroes panel rows [rows, w) over nk depth positions.
inline void zero_tail(float* d, int w, int rows, int64_t nk) {
  if (rows == w) return;
  for (int64_t k = 0; k < nk; ++k)
    for (int r = rows; r < w; ++r) d[k * w + r] = 0.f;
}

// Forward A: rows (n, oh, ow), depth (kh, kw, ci): x[n, oh*sh-pt+kh*dh, ow*sw-pl+kw*dw, ci].
class Im2colRows final : public PackSource {
 public:
  Im2colRows(const ConvShape& s, const float* x) : s_(s), x_(x) {}
  void pack(int64_t i0, int64_t ni, int64_t k0, int64_t nk, int w, float* dst) const override {
    const ConvShape& s = s_;
    for (int64_t p0 = 0; p0 < ni; p0 += w) {
      const int rows = static_cast<int>(std::min<int64_t>(w, ni - p0));
      float* d = dst + (p0 / w) * nk * w;
      for (int r = 0; r < rows; ++r) {
        const int64_t m = i0 + p0 + r;
        const int64_t n = m / (s.OH * s.OW), oh = (m / s.OW) % s.OH, ow = m % s.OW;
        int64_t ci = k0 % s.C, kw = (k0 / s.C) % s.KW, kh = k0 / (s.C * s.KW);
        for (int64_t kk = 0; kk < nk;) {
          const int64_t seg = std::min(s.C - ci, nk - kk);
          const int64_t ih = oh * s.sh - s.pt + kh * s.dh, iw = ow * s.sw - s.pl + kw * s.dw;
          const bool in = ih >= 0 && ih < s.H && iw >= 0 && iw < s.W;
          put_run(d, w, r, kk, in ? x_ + ((n * s.H + ih) * s.W + iw) * s.C + ci : nullptr, seg);
          kk += seg;
          ci = 0;
          if (++kw == s.KW) kw = 0, ++kh;
        }
      }
      zero_tail(d, w, rows, nk);
    }
  }

 private:
  const ConvShape& s_;
  const float* x_;
};

// Backprop-filter A: rows (kh, kw, ci), depth (n, oh, ow): x[n, oh*sh-pt+kh*dh, ow*sw-pl+kw*dw, ci].
class Im2colCols final : public PackSource {
 public:
  Im2colCols(const ConvShape& s, const float* x) : s_(s), x_(x) {}
  void pack(int64_t i0, int64_t ni, int64_t k0, int64_t nk, int w, float* dst) const override {
    const ConvShape& s = s_;
    thread_local std::vector<int64_t> offh, offw, chan;
    offh.resize(w);
    offw.resize(w);
    chan.resize(w);
    for (int64_t p0 = 0; p0 < ni; p0 += w) {
      const int rows = static_cast<int>(std::min<int64_t>(w, ni - p0));
      float* d = dst + (p0 / w) * nk * w;
      for (int r = 0; r < rows; ++r) {
        const int64_t q = i0 + p0 + r;
        chan[r] = q % s.C;
        offw[r] = ((q / s.C) % s.KW) * s.dw - s.pl;
        offh[r] = (q / (s.C * s.KW)) * s.dh - s.pt;
      }
      int64_t n = k0 / (s.OH * s.OW), oh = (k0 / s.OW) % s.OH, ow = k0 % s.OW;
      for (int64_t k = 0; k < nk; ++k) {
        float* dk = d + k * w;
        const float* xn = x_ + n * s.H * s.W * s.C;
        for (int r = 0; r < rows; ++r) {
          const int64_t ih = oh * s.sh + offh[r], iw = ow * s.sw + offw[r];
          dk[r] = (ih >= 0 && ih < s.H && iw >= 0 && iw < s.W) ? xn[(ih * s.W + iw) * s.C + chan[r]] : 0.f;
        }
        for (int r = rows; r < w; ++r) dk[r] = 0.f;
        if (++ow == s.OW) {
          ow = 0;
          if (++oh == s.OH) oh = 0, ++n;
        }
      }
    }
  }

 private:
  const ConvShape& s_;
  const float* x_;
};

// Pointwise layers that widen few channels into many over many pixels (MobileNetV2's
// expansions: 8->48, 16->96 at 28-112 px, and the input gradients of its projections): the
// GEMM packs its thin A for every tile and ran at 33-65 GFLOP/s per core there. The
// outer-product kernel keeps B (K x N, a few KB) in L1 and streams the pixels past it once:
// 0.52-0.89x the GEMM's CPU time on those layers (one thread). Elsewhere (narrow outputs, wide
// inputs, small maps) the GEMM stays ahead.
bool expand_fits(int64_t M, int64_t K, int64_t N) {
  const int lanes = outer_kernel_for_cpu().lanes;
  return K <= 16 && N >= 3 * K && N % lanes == 0 && M * N >= (int64_t(1) << 21);
}

// C[M, N] = act(A[M, K] B[K, N] + bias), all row-major (A's rows lda apart), in row chunks.
void expand(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, float* C, const Epilogue& ep) {
  const OuterKernel o = outer_kernel_for_cpu();
  constexpr int64_t kRowsPerTask = 1024;
  parallel_for((M + kRowsPerTask - 1) / kRowsPerTask, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t m0 = t * kRowsPerTask, rows = std::min(M, m0 + kRowsPerTask) - m0;
      // out[p + q*N] = sum over k of B[k*N + p] A[(m0 + q)*lda + k]: vectorised along N.
      o.fn(N, rows, K, B, N, A + m0 * lda, 1, lda, C + m0 * N, 1, N, false);
      if (!ep.trivial()) apply_epilogue(C + m0 * N, N, rows, N, 0, ep);
    }
  });
}

// Few input channels (an RGB stem): im2col + GEMM spent most of its time gathering runs of C
// floats, and the GEMM's 14x32 tiles waste half their lanes on 16 output channels. Instead each
// image is copied once into a zero-padded buffer in which every tap of every output pixel is in
// range, and the outer-product kernel reads it in place through two offset tables: one entry per
// tap (kh, kw, ci), in the filter's row order, and one per output pixel.
struct PaddedTaps {
  // The padded image's rows and columns: every tap of every output pixel.
  static int64_t rows(const ConvShape& s) { return (s.OH - 1) * s.sh + (s.KH - 1) * s.dh + 1; }
  static int64_t cols(const ConvShape& s) { return (s.OW - 1) * s.sw + (s.KW - 1) * s.dw + 1; }
  int64_t Hp, Wp;
  std::vector<int64_t> tap, pix;
  explicit PaddedTaps(const ConvShape& s) : Hp(rows(s)), Wp(cols(s)) {
    for (int64_t kh = 0; kh < s.KH; ++kh)
      for (int64_t kw = 0; kw < s.KW; ++kw)
        for (int64_t ci = 0; ci < s.C; ++ci) tap.push_back((kh * s.dh * Wp + kw * s.dw) * s.C + ci);
    for (int64_t oh = 0; oh < s.OH; ++oh)
      for (int64_t ow = 0; ow < s.OW; ++ow) pix.push_back((oh * s.sh * Wp + ow * s.sw) * s.C);
  }
  // Only for few channels and a padded image not much larger than the input (the geometry is
  // the caller's: a huge stride or padding must not allocate a huge buffer); else im2col.
  static bool fits(const ConvShape& s) {
    if (s.C >= 8 || s.N <= 0 || s.OH <= 0 || s.OW <= 0) return false;
    return rows(s) <= 2 * (s.H + s.KH * s.dh) + 2 && cols(s) <= 2 * (s.W + s.KW * s.dw) + 2;
  }
  size_t size(const ConvShape& s) const { return static_cast<size_t>(Hp * Wp * s.C); }
  // xp[r, c, :] = x[n, r - pt, c - pl, :], zero outside the image (pt, pl may be negative).
  void pad(const ConvShape& s, const float* x, int64_t n, float* xp) const {
    const float* xn = x + n * s.H * s.W * s.C;
    const int64_t lo = std::clamp<int64_t>(s.pl, 0, Wp), hi = std::clamp<int64_t>(s.pl + s.W, lo, Wp);
    for (int64_t r = 0; r < Hp; ++r) {
      float* d = xp + r * Wp * s.C;
      const int64_t ih = r - s.pt;
      if (ih < 0 || ih >= s.H) {
        std::fill(d, d + Wp * s.C, 0.f);
        continue;
      }
      std::fill(d, d + lo * s.C, 0.f);
      std::copy(xn + (ih * s.W + lo - s.pl) * s.C, xn + (ih * s.W + hi - s.pl) * s.C, d + lo * s.C);
      std::fill(d + hi * s.C, d + Wp * s.C, 0.f);
    }
  }
};

}  // namespace

void conv2d_forward(const ConvShape& s, const float* x, const float* f, float* y, const Epilogue& ep) {
  const int64_t M = s.N * s.OH * s.OW, K = s.KH * s.KW * s.C;
  const StridedSource bt(f, 1, s.OC);  // B = f as [K, OC]
  if (is_pointwise(s) && expand_fits(M, K, s.OC)) {
    expand(M, s.OC, K, x, s.C, f, y, ep);
  } else if (is_pointwise(s)) {
    gemm(M, s.OC, K, StridedSource(x, s.C, 1), bt, y, s.OC, false, ep);
  } else if (PaddedTaps::fits(s)) {
    // y[n] (pixels x OC) = sum over taps of xp[pix + tap] f[tap, :]: vectorised along OC.
    const PaddedTaps pt(s);
    const OuterKernel o = outer_kernel_for_cpu();
    const int64_t P = s.OH * s.OW;
    parallel_for(s.N, 1, [&](int64_t b, int64_t e) {
      float* xp = scratch(Slot::Col, pt.size(s));
      for (int64_t n = b; n < e; ++n) {
        pt.pad(s, x, n, xp);
        float* yn = y + n * P * s.OC;
        o.gather(s.OC, P, K, f, s.OC, xp, pt.tap.data(), pt.pix.data(), yn, 1, s.OC, false);
        if (!ep.trivial()) apply_epilogue(yn, s.OC, P, s.OC, 0, ep);
      }
    });
  } else {
    gemm(M, s.OC, K, Im2colRows(s, x), bt, y, s.OC, false, ep);
  }
}

void conv2d_backprop_input(const ConvShape& s, const float* dy, const float* f, float* dx) {
  if (is_pointwise(s) && expand_fits(s.N * s.H * s.W, s.OC, s.C)) {
    // dx = dy f^T, with f^T (OC x C) written out once: a few KB.
    float* ft = scratch(Slot::PackB, static_cast<size_t>(s.OC * s.C));
    for (int64_t ci = 0; ci < s.C; ++ci)
      for (int64_t co = 0; co < s.OC; ++co) ft[co * s.C + ci] = f[ci * s.OC + co];
    expand(s.N * s.H * s.W, s.C, s.OC, dy, s.OC, ft, dx, Epilogue());
    return;
  }
  if (is_pointwise(s)) {
    gemm(s.N * s.H * s.W, s.C, s.OC, StridedSource(dy, s.OC, 1), StridedSource(f, s.OC, 1), dx, s.C, false);
    return;
  }
  // GEMM then col2im: dcol[(oh, ow), (kh, kw, ci)] = dy[(oh, ow), :] . f[kh, kw, ci, :], scattered
  // into dx. Unlike a gather over dx (implicit GEMM on a zero-stuffed dy) it wastes nothing on
  // strides, and its GEMM is wide (KH*KW*C) even when C is 3. Images run in parallel, each
  // scattering only into its own dx.
  const int64_t KK = s.KH * s.KW * s.C, P = s.OH * s.OW;
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(P, (int64_t(1) << 18) / std::max<int64_t>(1, KK)));
  const StridedSource bt(f, s.OC, 1);  // Bt((kh, kw, ci), co) = f[kh, kw, ci, co]
  parallel_for(s.N, 1, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) {
      float* dxn = dx + n * s.H * s.W * s.C;
      std::fill(dxn, dxn + s.H * s.W * s.C, 0.f);
      for (int64_t p0 = 0; p0 < P; p0 += chunk) {
        const int64_t rows = std::min(chunk, P - p0);
        float* col = scratch(Slot::Col, static_cast<size_t>(rows * KK));
        gemm(rows, KK, s.OC, StridedSource(dy + (n * P + p0) * s.OC, s.OC, 1), bt, col, KK, false);
        for (int64_t p = p0; p < p0 + rows; ++p) {
          const int64_t oh = p / s.OW, ow = p % s.OW;
          const float* cp = col + (p - p0) * KK;
          for (int64_t kh = 0; kh < s.KH; ++kh) {
            const int64_t ih = oh * s.sh - s.pt + kh * s.dh;
            if (ih < 0 || ih >= s.H) continue;
            for (int64_t kw = 0; kw < s.KW; ++kw) {
              const int64_t iw = ow * s.sw - s.pl + kw * s.dw;
              if (iw < 0 || iw >= s.W) continue;
              float* __restrict d = dxn + (ih * s.W + iw) * s.C;
              const float* __restrict c = cp + (kh * s.KW + kw) * s.C;
              for (int64_t ci = 0; ci < s.C; ++ci) d[ci] += c[ci];
            }
          }
        }
      }
    }
  });
}

void conv2d_backprop_filter(const ConvShape& s, const float* x, const float* dy, float* df) {
  const int64_t M = s.KH * s.KW * s.C, K = s.N * s.OH * s.OW;
  if (is_pointwise(s)) {
    gemm_tn(M, s.OC, K, x, s.C, dy, s.OC, df, false);  // dW = x^T dy, both pixel-major
  } else if (PaddedTaps::fits(s)) {
    // As the forward: df (taps x OC) = sum over pixels of xp[pix + tap] dy[pix, :]. Each part
    // sums its images into its own filter-sized buffer; then they are added.
    const PaddedTaps pt(s);
    const OuterKernel o = outer_kernel_for_cpu();
    const int64_t P = s.OH * s.OW, fsize = M * s.OC;
    const int64_t parts = std::min<int64_t>(s.N, num_threads());
    float* partial = scratch(Slot::Partial, static_cast<size_t>(parts * fsize));
    parallel_for(parts, 1, [&](int64_t b, int64_t e) {
      float* xp = scratch(Slot::Col, pt.size(s));
      for (int64_t t = b; t < e; ++t) {
        const int64_t n0 = s.N * t / parts, n1 = s.N * (t + 1) / parts;
        for (int64_t n = n0; n < n1; ++n) {
          pt.pad(s, x, n, xp);
          o.gather(s.OC, M, P, dy + n * P * s.OC, s.OC, xp, pt.pix.data(), pt.tap.data(), partial + t * fsize, 1, s.OC, n > n0);
        }
      }
    });
    add_parts(partial, parts, M, s.OC, df, s.OC, false);
  } else {
    gemm(M, s.OC, K, Im2colCols(s, x), StridedSource(dy, 1, s.OC), df, s.OC, false);
  }
}

}  // namespace nn
}  // namespace acr
