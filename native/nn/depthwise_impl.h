// Depthwise loops, included once per ISA file so the compiler vectorises the channel loops
// with that file's instruction set. Everything here has internal linkage.
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/threadpool.h"
#include "nn/depthwise.h"
#include "nn/lanes.h"
#include "nn/workspace.h"

namespace acr {
namespace nn {
namespace {

// o[c] = sum over taps t of a[t][c] * b[t][c], c in [0, C). Channels go in blocks of 16 whose
// sums stay in registers across all taps (one store per output instead of one per tap).
inline void tap_sum(int64_t C, int nt, const float* const* a, const float* const* b, float* __restrict o) {
  int64_t c = 0;
  for (; c + 16 <= C; c += 16) {
    float acc[16] = {};
    for (int t = 0; t < nt; ++t) {
      const float* __restrict at = a[t] + c;
      const float* __restrict bt = b[t] + c;
      for (int j = 0; j < 16; ++j) acc[j] += at[j] * bt[j];
    }
    for (int j = 0; j < 16; ++j) o[c + j] = acc[j];
  }
  for (; c < C; ++c) {
    float acc = 0.f;
    for (int t = 0; t < nt; ++t) acc += a[t][c] * b[t][c];
    o[c] = acc;
  }
}

// Rows per task so each task does at least ~64k multiply-adds.
inline int64_t row_grain(int64_t work_per_row) { return std::max<int64_t>(1, 65536 / std::max<int64_t>(1, work_per_row)); }

// Channel blocks are kLanes wide (lanes.h): their 9 filter taps (or 9 filter-gradient sums) fit
// in registers.

// Output pixels (and the input they read) go in chunks of this many, every channel block over a
// chunk before the next: the chunk's rows stay in L1 across the blocks (whole rows did not:
// 28x28x96 ran 1.26x slower).
constexpr int64_t kChunk = 16;

// One chunk of a 3x3, multiplier-1 depthwise pass, channels [c0, c0 + kLanes): out[p*C + c] =
// sum over the taps (kh, kw) in that order of rows[kh][cols[p][kw]*C + c] * f[(kh*3 + kw)*C + c],
// skipping a tap whose row is null or column negative (outside the input). The filter block
// stays in registers, in GCC vector types (plain float arrays compiled the first kernel row to
// scalar multiplies and shuffles), and four pixels go together: four independent FMA chains
// instead of one 9-deep chain per pixel. Each sum takes its terms in tap_sum's order, so the
// bits are the same.
typedef float DwVec __attribute__((vector_size(kLanes * sizeof(float))));

inline DwVec dw_load(const float* p) {
  DwVec v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <int B>
inline void dw3x3_pixels(const float* const* rows, const int64_t (*cols)[3], int64_t C, const DwVec* fk, int64_t c0,
                         float* out) {
  DwVec acc[B];
#pragma GCC unroll 4
  for (int b = 0; b < B; ++b) acc[b] = DwVec{};
#pragma GCC unroll 3
  for (int kh = 0; kh < 3; ++kh) {
    if (!rows[kh]) continue;
#pragma GCC unroll 3
    for (int kw = 0; kw < 3; ++kw) {
#pragma GCC unroll 4
      for (int b = 0; b < B; ++b) {
        if (cols[b][kw] < 0) continue;
        acc[b] += dw_load(rows[kh] + cols[b][kw] * C + c0) * fk[kh * 3 + kw];
      }
    }
  }
#pragma GCC unroll 4
  for (int b = 0; b < B; ++b) std::memcpy(out + b * C + c0, &acc[b], sizeof(DwVec));
}

inline void dw3x3_gather(const float* const* rows, const int64_t (*cols)[3], int64_t np, int64_t C, const float* f,
                         int64_t c0, float* out) {
  DwVec fk[9];
#pragma GCC unroll 9
  for (int t = 0; t < 9; ++t) fk[t] = dw_load(f + t * C + c0);
  int64_t p = 0;
  for (; p + 4 <= np; p += 4) dw3x3_pixels<4>(rows, cols + p, C, fk, c0, out + p * C);
  for (; p < np; ++p) dw3x3_pixels<1>(rows, cols + p, C, fk, c0, out + p * C);
}

// The last, partial channel block (bw < kLanes channels) of dw3x3_gather, one pixel at a time:
// the vector path's masked loads through a stack copy ran 1.15x slower than this plain loop.
inline void dw3x3_gather_tail(const float* const* rows, const int64_t (*cols)[3], int64_t np, int64_t C,
                              const float* f, int64_t c0, int bw, float* out) {
  float fk[9][kLanes];
  for (int t = 0; t < 9; ++t)
    for (int j = 0; j < kLanes; ++j) fk[t][j] = j < bw ? f[t * C + c0 + j] : 0.f;
  for (int64_t p = 0; p < np; ++p) {
    float acc[kLanes] = {};
    for (int kh = 0; kh < 3; ++kh) {
      if (!rows[kh]) continue;
      for (int kw = 0; kw < 3; ++kw) {
        if (cols[p][kw] < 0) continue;
        const float* __restrict xi = rows[kh] + cols[p][kw] * C + c0;
        for (int j = 0; j < kLanes; ++j) acc[j] += (j < bw ? xi[j] : 0.f) * fk[kh * 3 + kw][j];
      }
    }
    float* __restrict o = out + p * C + c0;
    for (int j = 0; j < bw; ++j) o[j] = acc[j];
  }
}

// A row of `width` pixels of a 3x3 multiplier-1 pass: col(p, kw) gives the source column of
// pixel p's tap kw, or -1.
template <typename Col>
void dw3x3_row(const float* const* rows, int64_t width, int64_t C, const float* f, float* out, Col&& col) {
  int64_t cols[kChunk][3];
  for (int64_t p0 = 0; p0 < width; p0 += kChunk) {
    const int64_t np = std::min(kChunk, width - p0);
    for (int64_t p = 0; p < np; ++p)
      for (int kw = 0; kw < 3; ++kw) cols[p][kw] = col(p0 + p, kw);
    float* o = out + p0 * C;
    int64_t c0 = 0;
    for (; c0 + kLanes <= C; c0 += kLanes) dw3x3_gather(rows, cols, np, C, f, c0, o);
    if (c0 < C) dw3x3_gather_tail(rows, cols, np, C, f, c0, static_cast<int>(C - c0), o);
  }
}

void dw_forward(const ConvShape& s, const float* x, const float* f, float* y, const Epilogue& ep) {
  const int64_t C = s.C, OC = s.OC, mult = OC / C;
  parallel_for(s.N * s.OH, row_grain(s.OW * s.KH * s.KW * OC), [&](int64_t b, int64_t e) {
    if (mult == 1 && s.KH == 3 && s.KW == 3) {
      for (int64_t row = b; row < e; ++row) {
        const int64_t n = row / s.OH, oh = row % s.OH;
        const float* rows[3];
        for (int kh = 0; kh < 3; ++kh) {
          const int64_t ih = oh * s.sh - s.pt + kh * s.dh;
          rows[kh] = ih >= 0 && ih < s.H ? x + (n * s.H + ih) * s.W * C : nullptr;
        }
        dw3x3_row(rows, s.OW, C, f, y + row * s.OW * OC, [&](int64_t ow, int kw) {
          const int64_t iw = ow * s.sw - s.pl + kw * s.dw;
          return iw >= 0 && iw < s.W ? iw : int64_t(-1);
        });
        if (!ep.trivial()) apply_epilogue(y + row * s.OW * OC, OC, s.OW, OC, 0, ep);
      }
      return;
    }
    thread_local std::vector<const float*> xs, fs;
    xs.resize(s.KH * s.KW);
    fs.resize(s.KH * s.KW);
    for (int64_t row = b; row < e; ++row) {
      const int64_t n = row / s.OH, oh = row % s.OH;
      for (int64_t ow = 0; ow < s.OW; ++ow) {
        float* __restrict o = y + (row * s.OW + ow) * OC;
        int nt = 0;  // the taps inside the input, in (kh, kw) order
        for (int64_t kh = 0; kh < s.KH; ++kh) {
          const int64_t ih = oh * s.sh - s.pt + kh * s.dh;
          if (ih < 0 || ih >= s.H) continue;
          for (int64_t kw = 0; kw < s.KW; ++kw) {
            const int64_t iw = ow * s.sw - s.pl + kw * s.dw;
            if (iw < 0 || iw >= s.W) continue;
            xs[nt] = x + ((n * s.H + ih) * s.W + iw) * C;
            fs[nt++] = f + (kh * s.KW + kw) * OC;
          }
        }
        if (mult == 1) {
          tap_sum(C, nt, xs.data(), fs.data(), o);
        } else {
          for (int64_t c = 0; c < OC; ++c) o[c] = 0.f;
          for (int t = 0; t < nt; ++t)
            for (int64_t c = 0; c < C; ++c)
              for (int64_t q = 0; q < mult; ++q) o[c * mult + q] += xs[t][c] * fs[t][c * mult + q];
        }
      }
      if (!ep.trivial()) apply_epilogue(y + row * s.OW * OC, OC, s.OW, OC, 0, ep);
    }
  });
}

void dw_backprop_input(const ConvShape& s, const float* dy, const float* f, float* dx) {
  const int64_t C = s.C, OC = s.OC, mult = OC / C;
  parallel_for(s.N * s.H, row_grain(s.W * s.KH * s.KW * OC / std::max<int64_t>(1, s.sh * s.sw)),
               [&](int64_t b, int64_t e) {
    if (mult == 1 && s.KH == 3 && s.KW == 3) {
      for (int64_t row = b; row < e; ++row) {
        const int64_t n = row / s.H, ih = row % s.H;
        const float* rows[3];  // the output rows this input row feeds, per kernel row
        for (int kh = 0; kh < 3; ++kh) {
          const int64_t th = ih + s.pt - kh * s.dh;
          rows[kh] = th >= 0 && th % s.sh == 0 && th / s.sh < s.OH ? dy + (n * s.OH + th / s.sh) * s.OW * OC : nullptr;
        }
        dw3x3_row(rows, s.W, C, f, dx + row * s.W * C, [&](int64_t iw, int kw) {
          const int64_t tw = iw + s.pl - kw * s.dw;
          return tw >= 0 && tw % s.sw == 0 && tw / s.sw < s.OW ? tw / s.sw : int64_t(-1);
        });
      }
      return;
    }
    thread_local std::vector<const float*> gs, fs;
    gs.resize(s.KH * s.KW);
    fs.resize(s.KH * s.KW);
    for (int64_t row = b; row < e; ++row) {
      const int64_t n = row / s.H, ih = row % s.H;
      for (int64_t iw = 0; iw < s.W; ++iw) {
        float* __restrict d = dx + (row * s.W + iw) * C;
        int nt = 0;  // output positions this input feeds, with their taps
        for (int64_t kh = 0; kh < s.KH; ++kh) {
          const int64_t th = ih + s.pt - kh * s.dh;
          if (th < 0 || th % s.sh != 0 || th / s.sh >= s.OH) continue;
          const int64_t oh = th / s.sh;
          for (int64_t kw = 0; kw < s.KW; ++kw) {
            const int64_t tw = iw + s.pl - kw * s.dw;
            if (tw < 0 || tw % s.sw != 0 || tw / s.sw >= s.OW) continue;
            gs[nt] = dy + ((n * s.OH + oh) * s.OW + tw / s.sw) * OC;
            fs[nt++] = f + (kh * s.KW + kw) * OC;
          }
        }
        if (mult == 1) {
          tap_sum(C, nt, gs.data(), fs.data(), d);
        } else {
          for (int64_t c = 0; c < C; ++c) {
            float acc = 0.f;
            for (int t = 0; t < nt; ++t)
              for (int64_t q = 0; q < mult; ++q) acc += gs[t][c * mult + q] * fs[t][c * mult + q];
            d[c] = acc;
          }
        }
      }
    }
  });
}

// The three input rows output row `row` (image-major) reads, from channel c0 on: hin[kh] false
// where kernel row kh falls outside the image (xr[kh] then points at a valid row, unread).
inline void input_rows(const ConvShape& s, const float* x, int64_t row, int64_t c0, bool* hin, const float** xr) {
  const int64_t n = row / s.OH, oh = row % s.OH;
  for (int kh = 0; kh < 3; ++kh) {
    const int64_t ih = oh * s.sh - s.pt + kh * s.dh;
    hin[kh] = ih >= 0 && ih < s.H;
    xr[kh] = x + ((n * s.H + (hin[kh] ? ih : 0)) * s.W) * s.C + c0;
  }
}

// Calls fn(kh, kw, iw) for each tap of output pixel ow (in output row `row`, whose kernel rows
// inside the image input_rows marked) that falls inside the image, in (kh, kw) order.
template <typename F>
inline void for_each_tap(const ConvShape& s, const bool* hin, int64_t ow, F&& fn) {
#pragma GCC unroll 3
  for (int kh = 0; kh < 3; ++kh) {
    if (!hin[kh]) continue;
#pragma GCC unroll 3
    for (int kw = 0; kw < 3; ++kw) {
      const int64_t iw = ow * s.sw - s.pl + kw * s.dw;
      if (iw >= 0 && iw < s.W) fn(kh, kw, iw);
    }
  }
}

// The 3x3 filter-gradient sums of channels [c0, c0 + W) over output pixels [ow0, ow1) of one
// row, added into acc[tap*C + c]: held in registers across the pixels instead of loaded and
// stored per pixel and tap. Each sum takes its terms in the same order as the generic loop
// (pixels in order), so the bits are the same. kTail: the last, partial block (bw < W channels;
// lanes past it stay zero).
template <int W, bool kTail>
inline void dw3x3_filter_row(const ConvShape& s, const float* x, const float* dy, int64_t row, int64_t ow0,
                             int64_t ow1, int64_t c0, int bw, float* acc) {
  const int64_t C = s.C;
  float sum[9][W];
#pragma GCC unroll 9
  for (int t = 0; t < 9; ++t)
    for (int j = 0; j < W; ++j) sum[t][j] = !kTail || j < bw ? acc[t * C + c0 + j] : 0.f;
  bool hin[3];
  const float* xr[3];
  input_rows(s, x, row, c0, hin, xr);
  for (int64_t ow = ow0; ow < ow1; ++ow) {
    const float* __restrict g = dy + (row * s.OW + ow) * C + c0;
    float gv[W];
    for (int j = 0; j < W; ++j) gv[j] = !kTail || j < bw ? g[j] : 0.f;
    for_each_tap(s, hin, ow, [&](int kh, int kw, int64_t iw) {
      const float* __restrict xi = xr[kh] + iw * C;
      for (int j = 0; j < W; ++j) sum[kh * 3 + kw][j] += (!kTail || j < bw ? xi[j] : 0.f) * gv[j];
    });
  }
#pragma GCC unroll 9
  for (int t = 0; t < 9; ++t)
    for (int j = 0; j < (kTail ? bw : W); ++j) acc[t * C + c0 + j] = sum[t][j];
}

// dw3x3_filter_row for a full block of kLanes channels, in GCC vector types (the float arrays
// above did not compile to whole-vector FMAs): the same sums in the same order, so the same bits.
inline void dw3x3_filter_row_vec(const ConvShape& s, const float* x, const float* dy, int64_t row, int64_t ow0,
                                 int64_t ow1, int64_t c0, float* acc) {
  const int64_t C = s.C;
  DwVec sum[9];
#pragma GCC unroll 9
  for (int t = 0; t < 9; ++t) sum[t] = dw_load(acc + t * C + c0);
  bool hin[3];
  const float* xr[3];
  input_rows(s, x, row, c0, hin, xr);
  for (int64_t ow = ow0; ow < ow1; ++ow) {
    const DwVec gv = dw_load(dy + (row * s.OW + ow) * C + c0);
    // The tap loops written out: through for_each_tap this block ran 3-5 % slower.
#pragma GCC unroll 3
    for (int kh = 0; kh < 3; ++kh) {
      if (!hin[kh]) continue;
#pragma GCC unroll 3
      for (int kw = 0; kw < 3; ++kw) {
        const int64_t iw = ow * s.sw - s.pl + kw * s.dw;
        if (iw >= 0 && iw < s.W) sum[kh * 3 + kw] += dw_load(xr[kh] + iw * C) * gv;
      }
    }
  }
#pragma GCC unroll 9
  for (int t = 0; t < 9; ++t) std::memcpy(acc + t * C + c0, &sum[t], sizeof(DwVec));
}

void dw_backprop_filter(const ConvShape& s, const float* x, const float* dy, float* df) {
  const int64_t C = s.C, OC = s.OC, mult = OC / C, taps = s.KH * s.KW, fsize = taps * OC;
  const int64_t rows = s.N * s.OH;
  const bool fast3x3 = mult == 1 && s.KH == 3 && s.KW == 3;
  // Each part sums a range of output rows into its own filter-sized buffer; then they are added.
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(rows, num_threads() * 2));
  float* partial = scratch(Slot::Partial, static_cast<size_t>(parts * fsize));
  parallel_for(parts, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      float* __restrict acc = partial + t * fsize;
      std::fill(acc, acc + fsize, 0.f);
      if (fast3x3) {
        for (int64_t row = rows * t / parts; row < rows * (t + 1) / parts; ++row) {
          for (int64_t ow0 = 0; ow0 < s.OW; ow0 += kChunk) {
            const int64_t ow1 = std::min(s.OW, ow0 + kChunk);
            int64_t c0 = 0;
            for (; c0 + kLanes <= C; c0 += kLanes)
              dw3x3_filter_row_vec(s, x, dy, row, ow0, ow1, c0, acc);
            if (c0 < C)
              dw3x3_filter_row<kLanes, true>(s, x, dy, row, ow0, ow1, c0, static_cast<int>(C - c0), acc);
          }
        }
        continue;
      }
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
  add_parts(partial, parts, taps, OC, df, OC, false);
}

constexpr DepthwiseFns kDepthwiseFns = {dw_forward, dw_backprop_input, dw_backprop_filter};

}  // namespace
}  // namespace nn
}  // namespace acr
