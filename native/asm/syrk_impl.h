// Register-tiled a^T a, written once with GCC/Clang vector extensions and compiled per ISA
// (syrk.cc baseline, syrk_avx2.cc, syrk_avx512.cc). Everything here has internal linkage so
// that the per-ISA copies never merge at link time.
#pragma once

#include <cstdint>
#include <cstring>

namespace acr {
namespace asmodel {
namespace {

// One MR x (2 vectors) tile of acc, rows i0.., columns j0.., summed over all rows of a.
// V is a vector of W doubles; the two column vectors hold j0..j0+2W.
template <typename V, int MR>
inline void syrk_tile(const double* a, int64_t rows, int64_t dp, int64_t i0, int64_t j0, double* acc) {
  V c0[MR], c1[MR];
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = V{};
  const double* row = a;
  for (int64_t k = 0; k < rows; ++k, row += dp) {
    V b0, b1;
    std::memcpy(&b0, row + j0, sizeof(V));
    std::memcpy(&b1, row + j0 + sizeof(V) / sizeof(double), sizeof(V));
    for (int r = 0; r < MR; ++r) {
      const double s = row[i0 + r];
      c0[r] += s * b0;
      c1[r] += s * b1;
    }
  }
  for (int r = 0; r < MR; ++r) {
    double* out = acc + (i0 + r) * dp + j0;
    V o0, o1;
    std::memcpy(&o0, out, sizeof(V));
    std::memcpy(&o1, out + sizeof(V) / sizeof(double), sizeof(V));
    o0 += c0[r];
    o1 += c1[r];
    std::memcpy(out, &o0, sizeof(V));
    std::memcpy(out + sizeof(V) / sizeof(double), &o1, sizeof(V));
  }
}

template <typename V, int MR>
void syrk_upper(const double* a, int64_t rows, int64_t d, int64_t dp, double* acc) {
  constexpr int64_t NR = 2 * sizeof(V) / sizeof(double);
  static_assert(kSyrkPad % NR == 0, "tile width must divide the padding");
  for (int64_t j0 = 0; j0 < d; j0 += NR) {
    // Upper triangle only: rows up to the last column of this tile.
    const int64_t last = j0 + NR < d ? j0 + NR : d;
    int64_t i0 = 0;
    for (; i0 + MR <= last; i0 += MR) syrk_tile<V, MR>(a, rows, dp, i0, j0, acc);
    for (; i0 < last; ++i0) syrk_tile<V, 1>(a, rows, dp, i0, j0, acc);
  }
}

}  // namespace
}  // namespace asmodel
}  // namespace acr
