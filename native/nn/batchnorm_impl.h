// Batch normalisation and capped-ReLU loops, included once per ISA file (batchnorm_*.cc) so the
// compiler vectorises the channel loops with that file's instruction set. Those files build
// with -ffp-contract=off: no fused multiply-adds, so every variant rounds exactly as the
// portable one (the fused BN + ReLU6 gradient recomputes the forward's pre-activation bit for
// bit, and results do not depend on the CPU). Everything here has internal linkage.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/threadpool.h"
#include "nn/batchnorm.h"
#include "nn/workspace.h"

namespace acr {
namespace nn {
namespace {
// Rows per block summed in float before being added to the double totals: fast, and the
// float partial sums stay short enough to be accurate.
constexpr int64_t kBlock = 64;

int64_t parts_for(int64_t rows, int64_t C) {
  const int64_t by_work = std::max<int64_t>(1, rows * C / 32768);
  return std::max<int64_t>(1, std::min<int64_t>(num_threads(), by_work));
}

// For each part, sums f(row) over its rows into two per-channel double arrays.
template <typename F>
void reduce_two(int64_t rows, int64_t C, double* out_a, double* out_b, F&& f) {
  const int64_t parts = parts_for(rows, C);
  std::vector<double> acc(static_cast<size_t>(parts * 2 * C), 0.0);
  parallel_for(parts, 1, [&](int64_t b, int64_t e) {
    float* fa = scratch(Slot::Tile, static_cast<size_t>(2 * C));
    float* fb = fa + C;
    for (int64_t t = b; t < e; ++t) {
      double* da = acc.data() + t * 2 * C;
      double* db = da + C;
      const int64_t r0 = rows * t / parts, r1 = rows * (t + 1) / parts;
      for (int64_t r = r0; r < r1; r += kBlock) {
        std::fill(fa, fa + 2 * C, 0.f);
        for (int64_t q = r; q < std::min(r1, r + kBlock); ++q) f(q, fa, fb);
        for (int64_t c = 0; c < C; ++c) da[c] += fa[c], db[c] += fb[c];
      }
    }
  });
  std::fill(out_a, out_a + C, 0.0);
  std::fill(out_b, out_b + C, 0.0);
  for (int64_t t = 0; t < parts; ++t)
    for (int64_t c = 0; c < C; ++c) out_a[c] += acc[t * 2 * C + c], out_b[c] += acc[t * 2 * C + C + c];
}

// The forward's per-channel y = x * scale + shift (float, from double), shared with the fused
// gradient, which recomputes the pre-activation bit for bit.
void scale_shift(int64_t C, const float* gamma, const float* beta, const float* mean, const float* var, float eps,
                 float* scale, float* shift) {
  for (int64_t c = 0; c < C; ++c) {
    const double inv = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
    const double g = gamma ? gamma[c] : 1.0;
    scale[c] = static_cast<float>(g * inv);
    shift[c] = static_cast<float>((beta ? beta[c] : 0.0) - mean[c] * g * inv);
  }
}

// relu_cap's and relu_cap_grad's element rules (selects, not branches; NaN stays NaN).
inline float cap_value(float v, float cap) {
  const float lo = v < 0.f ? 0.f : v;
  return lo > cap ? cap : lo;
}
inline float cap_gate(float g, float v, float cap) {
  const bool pass = (v > 0.f) & (v <= cap);
  const float other = v != v ? v : 0.f;
  return pass ? g : other;
}

void bn_train(int64_t rows, int64_t C, const float* x, const float* gamma, const float* beta, float eps, float* y,
              float* mean, float* var, float cap) {
  if (C <= 0) return;
  if (rows <= 0) {
    // tfjs gives NaN statistics for an empty batch (0/0).
    std::fill(mean, mean + C, std::nanf(""));
    std::fill(var, var + C, std::nanf(""));
    return;
  }
  // Shifted sums (by the first row) keep the variance accurate when |mean| >> std.
  std::vector<double> s(C), q(C);
  const float* x0 = x;
  reduce_two(rows, C, s.data(), q.data(), [&](int64_t r, float* __restrict a, float* __restrict b) {
    const float* __restrict xr = x + r * C;
    for (int64_t c = 0; c < C; ++c) {
      const float d = xr[c] - x0[c];
      a[c] += d;
      b[c] += d * d;
    }
  });
  for (int64_t c = 0; c < C; ++c) {
    const double m = s[c] / rows, v = std::max(0.0, q[c] / rows - m * m);
    mean[c] = static_cast<float>(m + x0[c]);
    var[c] = static_cast<float>(v);
  }
  std::vector<float> scale(C), shift(C);
  scale_shift(C, gamma, beta, mean, var, eps, scale.data(), shift.data());
  parallel_for(rows, std::max<int64_t>(1, 16384 / C), [&](int64_t b, int64_t e) {
    const float* __restrict sc = scale.data();
    const float* __restrict sh = shift.data();
    const float cp = cap;  // a local: the stores below cannot alias it, so the loop vectorises
    for (int64_t r = b; r < e; ++r) {
      const float* __restrict xr = x + r * C;
      float* __restrict yr = y + r * C;
      if (cp >= 0.f)
        for (int64_t c = 0; c < C; ++c) yr[c] = cap_value(xr[c] * sc[c] + sh[c], cp);
      else
        for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * sc[c] + sh[c];
    }
  });
}

template <bool kCap>
void bn_grad(int64_t rows, int64_t C, const float* dy, const float* x, const float* gamma, const float* beta,
             const float* mean, const float* var, float eps, float cap, float* dx, float* dgamma, float* dbeta) {
  std::vector<float> inv(C), m(C), sc(C), sh(C);
  for (int64_t c = 0; c < C; ++c) inv[c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(var[c]) + eps)), m[c] = mean[c];
  if (kCap) scale_shift(C, gamma, beta, mean, var, eps, sc.data(), sh.data());
  std::vector<double> sdy(C), sdyx(C);
  const float* __restrict scp = sc.data();
  const float* __restrict shp = sh.data();
  const float cp = cap;  // locals, so the stores cannot alias them and the loops vectorise
  // sum g and sum g*(x - mean), g = dy (or relu_cap_grad's gate of dy at the recomputed
  // pre-activation x*scale + shift when fused); xhat = (x - mean)*inv.
  reduce_two(rows, C, sdy.data(), sdyx.data(), [&](int64_t r, float* __restrict a, float* __restrict b) {
    const float* __restrict g = dy + r * C;
    const float* __restrict xr = x + r * C;
    const float* __restrict mm = m.data();
    for (int64_t c = 0; c < C; ++c) {
      const float gv = kCap ? cap_gate(g[c], xr[c] * scp[c] + shp[c], cp) : g[c];
      a[c] += gv;
      b[c] += gv * (xr[c] - mm[c]);
    }
  });
  // dx = gamma*inv * (g - dbeta/M - xhat*dgamma/M), written as g*k1 + (x - mean)*k2 + k3.
  std::vector<float> k1(C), k2(C), k3(C);
  for (int64_t c = 0; c < C; ++c) {
    const double gm = gamma ? gamma[c] : 1.0, iv = inv[c];
    dbeta[c] = static_cast<float>(sdy[c]);
    dgamma[c] = static_cast<float>(sdyx[c] * iv);
    const double M = static_cast<double>(rows);
    k1[c] = static_cast<float>(gm * iv);
    k2[c] = static_cast<float>(-gm * iv * iv * iv * sdyx[c] / M);
    k3[c] = static_cast<float>(-gm * iv * sdy[c] / M);
  }
  parallel_for(rows, std::max<int64_t>(1, 16384 / C), [&](int64_t b, int64_t e) {
    const float* __restrict a1 = k1.data();
    const float* __restrict a2 = k2.data();
    const float* __restrict a3 = k3.data();
    const float* __restrict mm = m.data();
    const float* __restrict scw = sc.data();
    const float* __restrict shw = sh.data();
    const float cw = cap;
    for (int64_t r = b; r < e; ++r) {
      const float* __restrict g = dy + r * C;
      const float* __restrict xr = x + r * C;
      float* __restrict d = dx + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const float gv = kCap ? cap_gate(g[c], xr[c] * scw[c] + shw[c], cw) : g[c];
        d[c] = gv * a1[c] + (xr[c] - mm[c]) * a2[c] + a3[c];
      }
    }
  });
}

void bn_train_grad(int64_t rows, int64_t C, const float* dy, const float* x, const float* gamma, const float* mean,
                   const float* var, float eps, float* dx, float* dgamma, float* dbeta, const float* beta, float cap) {
  if (C <= 0) return;
  if (cap >= 0.f)
    bn_grad<true>(rows, C, dy, x, gamma, beta, mean, var, eps, cap, dx, dgamma, dbeta);
  else
    bn_grad<false>(rows, C, dy, x, gamma, beta, mean, var, eps, cap, dx, dgamma, dbeta);
}

void cap_forward(int64_t n, const float* x, float cap, float* y) {
  parallel_for(n, 65536, [&](int64_t b, int64_t e) {
    const float* __restrict xs = x;
    float* __restrict ys = y;
    // Selects, not branches: the sign of activations is unpredictable. NaN stays NaN.
    for (int64_t i = b; i < e; ++i) {
      const float v = xs[i];
      const float lo = v < 0.f ? 0.f : v;
      ys[i] = lo > cap ? cap : lo;
    }
  });
}

void cap_backward(int64_t n, const float* dy, const float* x, float cap, float* dx) {
  parallel_for(n, 65536, [&](int64_t b, int64_t e) {
    const float* __restrict xs = x;
    const float* __restrict g = dy;
    float* __restrict d = dx;
    // Branch-free (the mask is unpredictable); NaN inputs give NaN, as tfjs' step() does.
    for (int64_t i = b; i < e; ++i) {
      const float v = xs[i];
      const bool pass = (v > 0.f) & (v <= cap);
      const float gv = g[i], other = v != v ? v : 0.f;  // unconditional load: lets it vectorise
      d[i] = pass ? gv : other;
    }
  });
}

constexpr BatchNormFns kBatchNormFns = {bn_train, bn_train_grad, cap_forward, cap_backward};

}  // namespace
}  // namespace nn
}  // namespace acr
