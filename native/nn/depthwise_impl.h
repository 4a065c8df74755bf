// Depthwise loops, included once per ISA file so the compiler vectorises the channel loops
// with that file's instruction set. Everything here has internal linkage.
#pragma once

#include <algorithm>

#include "common/threadpool.h"
#include "nn/depthwise.h"
#include "nn/workspace.h"

namespace acr {
namespace nn {
namespace {

// Rows per task so each task does at least ~64k multiply-adds.
inline int64_t row_grain(int64_t work_per_row) { return std::max<int64_t>(1, 65536 / std::max<int64_t>(1, work_per_row)); }

void dw_forward(const ConvShape& s, const float* x, const float* f, float* y, const Epilogue& ep) {
  const int64_t C = s.C, OC = s.OC, mult = OC / C;
  parallel_for(s.N * s.OH, row_grain(s.OW * s.KH * s.KW * OC), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int64_t n = row / s.OH, oh = row % s.OH;
      for (int64_t ow = 0; ow < s.OW; ++ow) {
        float* __restrict o = y + (row * s.OW + ow) * OC;
        for (int64_t c = 0; c < OC; ++c) o[c] = 0.f;
        for (int64_t kh = 0; kh < s.KH; ++kh) {
          const int64_t ih = oh * s.sh - s.pt + kh * s.dh;
          if (ih < 0 || ih >= s.H) continue;
          for (int64_t kw = 0; kw < s.KW; ++kw) {
            const int64_t iw = ow * s.sw - s.pl + kw * s.dw;
            if (iw < 0 || iw >= s.W) continue;
            const float* __restrict xi = x + ((n * s.H + ih) * s.W + iw) * C;
            const float* __restrict fi = f + (kh * s.KW + kw) * OC;
            if (mult == 1) {
              for (int64_t c = 0; c < C; ++c) o[c] += xi[c] * fi[c];
            } else {
              for (int64_t c = 0; c < C; ++c)
                for (int64_t q = 0; q < mult; ++q) o[c * mult + q] += xi[c] * fi[c * mult + q];
            }
          }
        }
      }
      if (ep.bias || ep.act != Act::Linear) apply_epilogue(y + row * s.OW * OC, OC, s.OW, OC, 0, ep);
    }
  });
}

void dw_backprop_input(const ConvShape& s, const float* dy, const float* f, float* dx) {
  const int64_t C = s.C, OC = s.OC, mult = OC / C;
  parallel_for(s.N * s.H, row_grain(s.W * s.KH * s.KW * OC / std::max<int64_t>(1, s.sh * s.sw)),
               [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int64_t n = row / s.H, ih = row % s.H;
      for (int64_t iw = 0; iw < s.W; ++iw) {
        float* __restrict d = dx + (row * s.W + iw) * C;
        for (int64_t c = 0; c < C; ++c) d[c] = 0.f;
        for (int64_t kh = 0; kh < s.KH; ++kh) {
          const int64_t th = ih + s.pt - kh * s.dh;
          if (th < 0 || th % s.sh != 0 || th / s.sh >= s.OH) continue;
          const int64_t oh = th / s.sh;
          for (int64_t kw = 0; kw < s.KW; ++kw) {
            const int64_t tw = iw + s.pl - kw * s.dw;
            if (tw < 0 || tw % s.sw != 0 || tw / s.sw >= s.OW) continue;
            const int64_t ow = tw / s.sw;
            const float* __restrict g = dy + ((n * s.OH + oh) * s.OW + ow) * OC;
            const float* __restrict fi = f + (kh * s.KW + kw) * OC;
            if (mult == 1) {
              for (int64_t c = 0; c < C; ++c) d[c] += g[c] * fi[c];
            } else {
              for (int64_t c = 0; c < C; ++c) {
                float acc = 0.f;
                for (int64_t q = 0; q < mult; ++q) acc += g[c * mult + q] * fi[c * mult + q];
                d[c] += acc;
              }
            }
          }
        }
      }
    }
  });
}

void dw_backprop_filter(const ConvShape& s, const float* x, const float* dy, float* df) {
  const int64_t C = s.C, OC = s.OC, mult = OC / C, taps = s.KH * s.KW, fsize = taps * OC;
  const int64_t rows = s.N * s.OH;
  // Each part sums a range of output rows into its own filter-sized buffer; then they are added.
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(rows, num_threads() * 2));
  float* partial = scratch(Slot::Partial, static_cast<size_t>(parts * fsize));
  parallel_for(parts, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      float* __restrict acc = partial + t * fsize;
      std::fill(acc, acc + fsize, 0.f);
      for (int64_t row = rows * t / parts; row < rows * (t + 1) / parts; ++row) {
        const int64_t n = row / s.OH, oh = row % s.OH;
        for (int64_t kh = 0; kh < s.KH; ++kh) {
          const int64_t ih = oh * s.sh - s.pt + kh * s.dh;
          if (ih < 0 || ih >= s.H) continue;
          for (int64_t kw = 0; kw < s.KW; ++kw) {
            float* __restrict a = acc + (kh * s.KW + kw) * OC;
            for (int64_t ow = 0; ow < s.OW; ++ow) {
              const int64_t iw = ow * s.sw - s.pl + kw * s.dw;
              if (iw < 0 || iw >= s.W) continue;
              const float* __restrict xi = x + ((n * s.H + ih) * s.W + iw) * C;
              const float* __restrict g = dy + (row * s.OW + ow) * OC;
              if (mult == 1) {
                for (int64_t c = 0; c < C; ++c) a[c] += xi[c] * g[c];
              } else {
                for (int64_t c = 0; c < C; ++c)
                  for (int64_t q = 0; q < mult; ++q) a[c * mult + q] += xi[c] * g[c * mult + q];
              }
            }
          }
        }
      }
    }
  });
  parallel_for(fsize, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float sum = 0.f;
      for (int64_t t = 0; t < parts; ++t) sum += partial[t * fsize + i];
      df[i] = sum;
    }
  });
}

constexpr DepthwiseFns kDepthwiseFns = {dw_forward, dw_backprop_input, dw_backprop_filter};

}  // namespace
}  // namespace nn
}  // namespace acr
