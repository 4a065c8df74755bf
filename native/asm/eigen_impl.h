// The eigensolver's kernels, written once with GCC/Clang vector extensions (V = a vector of
// doubles) and compiled per ISA by eigen_kernel*.cc. Internal linkage: the per-ISA copies never
// merge at link time.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "asm/scratch.h"
#include "common/threadpool.h"

namespace acr {
namespace asmodel {
namespace {

template <typename V>
constexpr int64_t lanes() {
  return static_cast<int64_t>(sizeof(V) / sizeof(double));
}

template <typename V>
inline V load(const double* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}

template <typename V>
inline void store(double* p, V v) {
  std::memcpy(p, &v, sizeof(V));
}

template <typename V>
inline double dot(const double* a, const double* b, int64_t n) {
  constexpr int64_t W = lanes<V>();
  V s0{}, s1{};
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 += load<V>(a + i) * load<V>(b + i);
    s1 += load<V>(a + i + W) * load<V>(b + i + W);
  }
  s0 += s1;
  double s = 0;
  for (int64_t l = 0; l < W; ++l) s += s0[l];
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Forms reflector k from row k of the upper triangle: I - tau[k] v v^T maps w[k][k+1..] onto
// e[k] times the first unit vector. v overwrites w[k][k+1..] (v[k+1] = 1). Returns tau[k] != 0.
template <typename V>
bool make_reflector(double* w, int64_t n, int64_t k, double* d, double* e, double* tau) {
  double* x = w + k * n + k + 1;
  const int64_t m = n - k - 1;
  d[k] = w[k * n + k];
  const double alpha = x[0];
  const double tail = dot<V>(x + 1, x + 1, m - 1);
  if (tail == 0) {  // this column is already reduced
    tau[k] = 0;
    e[k] = alpha;
    return false;
  }
  const double beta = -std::copysign(std::sqrt(alpha * alpha + tail), alpha);
  tau[k] = (beta - alpha) / beta;
  const double inv = 1.0 / (alpha - beta);
  x[0] = 1;
  for (int64_t i = 1; i < m; ++i) x[i] *= inv;
  e[k] = beta;
  return true;
}

// One row r of the trailing block, upper part (columns c >= r), in a single pass: optionally
// the rank-2 update of step k (row -= v[r] q + q[r] v), then its contribution to the next
// product p += B vn (the row's own entry plus, by symmetry, the column below the diagonal).
// v, q, vn, p are indexed by absolute column.
template <typename V, bool Update>
inline void update_row(double* row, int64_t r, int64_t n, const double* v, const double* q, const double* vn, double* p) {
  constexpr int64_t W = lanes<V>();
  const double vr = Update ? v[r] : 0, qr = Update ? q[r] : 0, vnr = vn[r];
  if (Update) row[r] -= vr * q[r] + qr * v[r];
  double s = row[r] * vnr;
  V acc{};
  int64_t c = r + 1;
  for (; c + W <= n; c += W) {
    V b = load<V>(row + c);
    if (Update) {
      b -= vr * load<V>(q + c) + qr * load<V>(v + c);
      store<V>(row + c, b);
    }
    acc += b * load<V>(vn + c);
    store<V>(p + c, load<V>(p + c) + b * vnr);
  }
  for (int64_t l = 0; l < W; ++l) s += acc[l];
  for (; c < n; ++c) {
    double b = row[c];
    if (Update) row[c] = b = b - (vr * q[c] + qr * v[c]);
    s += b * vn[c];
    p[c] += b * vnr;
  }
  p[r] += s;
}

// Householder reduction of the symmetric w (n x n; only the upper triangle is read and
// written) to a tridiagonal matrix with diagonal d and off-diagonal e (e[i] couples i and i+1,
// e[n-1] = 0). Reflector k is I - tau[k] v v^T with v in row k of w, columns k+1.. (v[k+1] = 1).
// Each step makes one pass over the trailing triangle: the rank-2 update of step k fused with
// the matrix-vector product that step k+1 needs. p and q are scratch of n doubles each.
template <typename V>
void tridiagonalize(double* w, int64_t n, double* d, double* e, double* tau, double* p, double* q) {
  if (n >= 3 && make_reflector<V>(w, n, 0, d, e, tau)) {
    std::fill(p, p + n, 0.0);
    for (int64_t r = 1; r < n; ++r) update_row<V, false>(w + r * n, r, n, nullptr, nullptr, w, p);
  }
  for (int64_t k = 0; k + 2 < n; ++k) {
    const double* v = w + k * n;  // v[c], c > k
    const bool reflect = tau[k] != 0;
    if (reflect) {
      // p = tau B v, q = p - (tau/2)(p.v) v
      const double t = tau[k];
      for (int64_t c = k + 1; c < n; ++c) p[c] *= t;
      const double half = 0.5 * t * dot<V>(p + k + 1, v + k + 1, n - k - 1);
      for (int64_t c = k + 1; c < n; ++c) q[c] = p[c] - half * v[c];
      double* row = w + (k + 1) * n;
      for (int64_t c = k + 1; c < n; ++c) row[c] -= v[k + 1] * q[c] + q[k + 1] * v[c];
    }
    const int64_t kn = k + 1;  // the next step
    const bool next = kn + 2 < n && make_reflector<V>(w, n, kn, d, e, tau);
    const double* vn = w + kn * n;
    if (next) std::fill(p + kn + 1, p + n, 0.0);
    for (int64_t r = kn + 1; r < n; ++r) {
      double* row = w + r * n;
      if (reflect && next) {
        update_row<V, true>(row, r, n, v, q, vn, p);
      } else if (next) {
        update_row<V, false>(row, r, n, v, q, vn, p);
      } else if (reflect) {
        const double vr = v[r], qr = q[r];
        for (int64_t c = r; c < n; ++c) row[c] -= vr * q[c] + qr * v[c];
      }
    }
  }
  if (n >= 2) {
    d[n - 2] = w[(n - 2) * n + n - 2];
    e[n - 2] = w[(n - 2) * n + n - 1];
  }
  d[n - 1] = w[(n - 1) * n + n - 1];
  e[n - 1] = 0;
}

// z = Q^T = H_{n-3} ... H_0, built by right-multiplying from the last reflector. Before step
// k, z is the identity on its first k+2 rows and columns, so H_k changes only columns > k of
// rows > k (for rows <= k its dot product is exactly 0). Rows evolve independently: a group of
// four rows shares each reflector's loads, its rows staying in L1. z must start as the identity.
template <typename V>
void accumulate_qt_group(const double* w, const double* tau, int64_t n, double* z, int64_t ldz, int64_t g) {
  constexpr int64_t W = lanes<V>();
  const int64_t r0 = 4 * g, rows = std::min<int64_t>(4, n - r0);
  for (int64_t k = std::min(r0 + rows - 2, n - 3); k >= 0; --k) {
    if (tau[k] == 0) continue;
    const double* v = w + k * n + k + 1;
    const int64_t m = n - k - 1;
    double* zr[4];
    V acc[4] = {};
    for (int64_t b = 0; b < 4; ++b) zr[b] = z + (r0 + std::min(b, rows - 1)) * ldz + k + 1;
    int64_t j = 0;
    for (; j + W <= m; j += W) {
      const V vj = load<V>(v + j);
      for (int b = 0; b < 4; ++b) acc[b] += load<V>(zr[b] + j) * vj;
    }
    double s[4];
    for (int b = 0; b < 4; ++b) {
      s[b] = 0;
      for (int64_t l = 0; l < W; ++l) s[b] += acc[b][l];
      for (int64_t jj = j; jj < m; ++jj) s[b] += zr[b][jj] * v[jj];
      s[b] *= tau[k];
    }
    // Rows past the end alias the last row: update it once only.
    for (int64_t b = 0; b < rows; ++b) {
      double* row = zr[b];
      const double sb = s[b];
      for (int64_t jj = 0; jj < m; ++jj) row[jj] -= sb * v[jj];
    }
  }
}

// One QL sweep: plane rotations (c_i, s_i) on rows (i, i+1) for i = m-1 down to l.
struct Sweep {
  int64_t l, m;
  size_t offset;  // into the (c, s) pairs
};

// sqrt(a^2 + b^2): the plain formula is safe on the scaled matrix; hypot only where it could
// underflow.
inline double norm2(double a, double b) {
  const double r = std::sqrt(a * a + b * b);
  return r > 1e-150 ? r : std::hypot(a, b);
}

// Implicit QL on the tridiagonal (d, e) (EISPACK tql2, as in JAMA). Eigenvalues end in d
// (unsorted); the rotations are recorded, not applied, so that the O(n^3) vector update runs
// afterwards in register-blocked, parallel column strips.
inline bool tql2_values(double* d, double* e, int64_t n, std::vector<Sweep>& sweeps, std::vector<double>& cs) {
  const double eps = std::ldexp(1.0, -52);
  double f = 0, tst1 = 0;
  for (int64_t l = 0; l < n; ++l) {
    tst1 = std::max(tst1, std::fabs(d[l]) + std::fabs(e[l]));
    int64_t m = l;
    while (m < n - 1 && std::fabs(e[m]) > eps * tst1) ++m;
    int iter = 0;
    while (m > l) {
      if (++iter > 60) return false;
      double g = d[l];
      double p = (d[l + 1] - g) / (2.0 * e[l]);
      double r = std::hypot(p, 1.0);
      if (p < 0) r = -r;
      d[l] = e[l] / (p + r);
      d[l + 1] = e[l] * (p + r);
      const double dl1 = d[l + 1];
      double h = g - d[l];
      for (int64_t i = l + 2; i < n; ++i) d[i] -= h;
      f += h;
      p = d[m];
      double c = 1, c2 = 1, c3 = 1, s = 0, s2 = 0;
      const double el1 = e[l + 1];
      sweeps.push_back({l, m, cs.size()});
      for (int64_t i = m - 1; i >= l; --i) {
        c3 = c2;
        c2 = c;
        s2 = s;
        g = c * e[i];
        h = c * p;
        r = norm2(p, e[i]);
        e[i + 1] = s * r;
        const double inv = 1.0 / r;
        s = e[i] * inv;
        c = p * inv;
        p = c * d[i] - s * g;
        d[i + 1] = h + s * (c * g + s * d[i]);
        cs.push_back(c);
        cs.push_back(s);
      }
      p = -s * s2 * c3 * el1 * e[l] / dl1;
      e[l] = s * p;
      d[l] = c * p;
      if (!(std::fabs(e[l]) > eps * tst1)) break;
    }
    d[l] += f;
    e[l] = 0;
  }
  return true;
}

// Replays every sweep on NV vectors of columns starting at c0. Within a sweep the row being
// rotated down is carried in registers: each element is loaded and stored once per sweep, and
// the NV independent chains hide the multiply-add latency.
template <typename V, int NV>
void apply_strip(const std::vector<Sweep>& sweeps, const double* cs, double* z, int64_t ldz, int64_t c0) {
  constexpr int64_t W = lanes<V>();
  for (const Sweep& sw : sweeps) {
    const double* rot = cs + sw.offset;
    V carry[NV];
    const double* zm = z + sw.m * ldz + c0;
    for (int v = 0; v < NV; ++v) carry[v] = load<V>(zm + v * W);
    for (int64_t i = sw.m - 1; i >= sw.l; --i, rot += 2) {
      const double c = rot[0], s = rot[1];
      double* zi = z + i * ldz + c0;
      for (int v = 0; v < NV; ++v) {
        const V vi = load<V>(zi + v * W);
        store<V>(zi + ldz + v * W, s * vi + c * carry[v]);
        carry[v] = c * vi - s * carry[v];
      }
    }
    double* zl = z + sw.l * ldz + c0;
    for (int v = 0; v < NV; ++v) store<V>(zl + v * W, carry[v]);
  }
}

template <typename V>
void apply_sweeps(const std::vector<Sweep>& sweeps, const std::vector<double>& cs, int64_t n, double* z, int64_t ldz) {
  constexpr int NV = 8;
  constexpr int64_t W = lanes<V>();
  const int64_t vectors = (n + W - 1) / W;  // columns up to ldz are padding and stay 0
  const int64_t full = vectors / NV;
  const int64_t tasks = full + (vectors - full * NV);  // full strips, then one task per leftover vector
  parallel_for(tasks, 1, [&](int64_t tb, int64_t te) {
    for (int64_t t = tb; t < te; ++t) {
      if (t < full) {
        apply_strip<V, NV>(sweeps, cs.data(), z, ldz, t * NV * W);
      } else {
        apply_strip<V, 1>(sweeps, cs.data(), z, ldz, (full * NV + (t - full)) * W);
      }
    }
  });
}

template <typename V>
bool tridiagonal_eigh(double* w, int64_t n, double* values, double* z, int64_t ldz) {
  Scratch work(kScratchEigenSmall, static_cast<size_t>(4 * n));
  double *e = work.data(), *tau = e + n, *p = tau + n, *q = p + n;
  std::fill(tau, tau + n, 0.0);
  tridiagonalize<V>(w, n, values, e, tau, p, q);
  std::fill(z, z + n * ldz, 0.0);
  for (int64_t i = 0; i < n; ++i) z[i * ldz + i] = 1;
  // Kept per calling thread with their capacity: ~n^2 rotations of 16 bytes.
  thread_local std::vector<Sweep> sweeps;
  thread_local std::vector<double> cs;
  std::vector<Sweep>& sw = sweeps;
  std::vector<double>& rot = cs;
  sw.clear();
  rot.clear();
  // The serial QL iteration (task 0, taken first) overlaps with the accumulation of Q^T
  // (independent of it) on the other threads.
  bool ok = true;
  const int64_t groups = (n + 3) / 4;
  parallel_for(groups + 1, 1, [&](int64_t tb, int64_t te) {
    for (int64_t t = tb; t < te; ++t) {
      if (t == 0) {
        ok = tql2_values(values, e, n, sw, rot);
      } else {
        accumulate_qt_group<V>(w, tau, n, z, ldz, t - 1);
      }
    }
  });
  if (ok) apply_sweeps<V>(sw, rot, n, z, ldz);
  if (rot.capacity() * sizeof(double) > Scratch::kKeepBytes) {
    std::vector<double>().swap(rot);
    std::vector<Sweep>().swap(sw);
  }
  return ok;
}

}  // namespace
}  // namespace asmodel
}  // namespace acr
