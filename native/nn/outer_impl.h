// The outer-product accumulation of outer.h, included once per ISA file so the compiler
// vectorises the lane loops with that file's instruction set. Internal linkage throughout.
#pragma once

#include <algorithm>
#include <cstring>

#include "nn/outer.h"
#include "nn/lanes.h"

namespace acr {
namespace nn {
namespace {

// Broadcast rows per tile: with V vectors, kRows x V accumulators stay in registers. (12 rows
// for V <= 2 with AVX-512 measured no faster: the broadcasts' offsets then spill.)
constexpr int kRows = 6;
// Pixels per depth chunk: the chunk's u and v rows stay in L1/L2 while every tile reads them.
constexpr int64_t kChunk = 256;

// One tile: columns [p0, p0 + V*kLanes) of the vectorised side (np of them real; the rest read
// as zero and are not stored) and rows [q0, q0 + nq) of the broadcast side (rows past nq repeat
// the last real row, so they read memory that exists, and are not stored). Adds the depth
// range [k0, k1) into out (first chunk: stores). GCC vector types, fully unrolled, keep the
// kRows x V accumulators in registers (plain float arrays were kept on the stack).
typedef float Vec __attribute__((vector_size(kLanes * sizeof(float))));

// Where the broadcast side's element (k, q) is: v[k*ldk + q*ldq] (a matrix, either layout) ...
struct StridedV {
  int64_t ldk, ldq;
  int64_t row(int64_t k) const { return k * ldk; }
  int64_t col(int64_t q) const { return q * ldq; }
};
// ... or v[row[k] + col[q]] (a convolution's taps read in place: offset tables).
struct TableV {
  const int64_t* rows;
  const int64_t* cols;
  int64_t row(int64_t k) const { return rows[k]; }
  int64_t col(int64_t q) const { return cols[q]; }
};

template <int V, bool kTail, class VIdx>
inline void tile(int64_t k0, int64_t k1, const float* u, int64_t ldu, const float* v, VIdx vi, int64_t p0, int np,
                 int64_t q0, int nq, float* out, int64_t sp, int64_t sq, bool first) {
  Vec acc[kRows][V];
#pragma GCC unroll 6
  for (int r = 0; r < kRows; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < V; ++c) acc[r][c] = Vec{};
  int64_t qo[kRows];
  for (int r = 0; r < kRows; ++r) qo[r] = vi.col(q0 + std::min(r, nq - 1));
  const int full = kTail ? np / kLanes : V;  // whole vectors; with kTail, then one partial
  for (int64_t k = k0; k < k1; ++k) {
    const float* uk = u + k * ldu + p0;
    Vec uv[V];
#pragma GCC unroll 4
    for (int c = 0; c < V; ++c) {
      if (!kTail || c < full) {
        std::memcpy(&uv[c], uk + c * kLanes, sizeof(Vec));
      } else {
        float t[kLanes] = {};
        if (c == full) std::memcpy(t, uk + c * kLanes, sizeof(float) * (np - full * kLanes));
        std::memcpy(&uv[c], t, sizeof(Vec));
      }
    }
    const float* vk = v + vi.row(k);
#pragma GCC unroll 6
    for (int r = 0; r < kRows; ++r) {
      const Vec sv = Vec{} + vk[qo[r]];
#pragma GCC unroll 4
      for (int c = 0; c < V; ++c) acc[r][c] += sv * uv[c];
    }
  }
  if (!kTail && sp == 1) {
    // Rows of the output contiguous along the vectorised side: whole-vector stores.
    for (int r = 0; r < nq; ++r) {
      float* o = out + p0 + (q0 + r) * sq;
#pragma GCC unroll 4
      for (int c = 0; c < V; ++c) {
        Vec t = acc[r][c];
        if (!first) {
          Vec prev;
          std::memcpy(&prev, o + c * kLanes, sizeof(Vec));
          t += prev;
        }
        std::memcpy(o + c * kLanes, &t, sizeof(Vec));
      }
    }
    return;
  }
  for (int r = 0; r < nq; ++r) {
    float t[V * kLanes];
    std::memcpy(t, acc[r], sizeof(t));
    for (int j = 0; j < (kTail ? np : V * kLanes); ++j) {
      float& o = out[(p0 + j) * sp + (q0 + r) * sq];
      o = first ? t[j] : o + t[j];
    }
  }
}

template <bool kTail, class VIdx>
void tile_v(int V, int64_t k0, int64_t k1, const float* u, int64_t ldu, const float* v, VIdx vi, int64_t p0, int np,
            int64_t q0, int nq, float* out, int64_t sp, int64_t sq, bool first) {
  switch (V) {
    case 1: return tile<1, kTail>(k0, k1, u, ldu, v, vi, p0, np, q0, nq, out, sp, sq, first);
    case 2: return tile<2, kTail>(k0, k1, u, ldu, v, vi, p0, np, q0, nq, out, sp, sq, first);
    case 3: return tile<3, kTail>(k0, k1, u, ldu, v, vi, p0, np, q0, nq, out, sp, sq, first);
    default: return tile<4, kTail>(k0, k1, u, ldu, v, vi, p0, np, q0, nq, out, sp, sq, first);
  }
}

template <class VIdx>
void outer_any(int64_t P, int64_t Q, int64_t K, const float* u, int64_t ldu, const float* v, VIdx vi, float* out,
               int64_t sp, int64_t sq, bool accumulate) {
  if (K <= 0) {
    if (accumulate) return;
    for (int64_t p = 0; p < P; ++p)
      for (int64_t q = 0; q < Q; ++q) out[p * sp + q * sq] = 0.f;
    return;
  }
  const int64_t vectors = (P + kLanes - 1) / kLanes;
  for (int64_t k0 = 0; k0 < K; k0 += kChunk) {
    const int64_t k1 = std::min(K, k0 + kChunk);
    // Column groups of up to 4 vectors; the last vector of the last group may be partial.
    for (int64_t g = 0; g < vectors; g += 4) {
      const int V = static_cast<int>(std::min<int64_t>(4, vectors - g));
      const int64_t p0 = g * kLanes;
      const int np = static_cast<int>(std::min<int64_t>(V * kLanes, P - p0));
      for (int64_t q0 = 0; q0 < Q; q0 += kRows) {
        const int nq = static_cast<int>(std::min<int64_t>(kRows, Q - q0));
        if (np == V * kLanes) tile_v<false>(V, k0, k1, u, ldu, v, vi, p0, np, q0, nq, out, sp, sq, !accumulate && k0 == 0);
        else tile_v<true>(V, k0, k1, u, ldu, v, vi, p0, np, q0, nq, out, sp, sq, !accumulate && k0 == 0);
      }
    }
  }
}

void outer_kernel(int64_t P, int64_t Q, int64_t K, const float* u, int64_t ldu, const float* v, int64_t ldvk, int64_t ldvq,
                  float* out, int64_t sp, int64_t sq, bool accumulate) {
  outer_any(P, Q, K, u, ldu, v, StridedV{ldvk, ldvq}, out, sp, sq, accumulate);
}

void outer_gather_kernel(int64_t P, int64_t Q, int64_t K, const float* u, int64_t ldu, const float* v,
                         const int64_t* vrow, const int64_t* vcol, float* out, int64_t sp, int64_t sq, bool accumulate) {
  outer_any(P, Q, K, u, ldu, v, TableV{vrow, vcol}, out, sp, sq, accumulate);
}

}  // namespace
}  // namespace nn
}  // namespace acr
