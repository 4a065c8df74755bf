// The covariance inner kernel, one per instruction set (chosen at run time): acc += a^T a.
#pragma once

#include <cstdint>

namespace acr {
namespace asmodel {

// Column padding of `a` and `acc`: dp is a multiple of this for every ISA's tile width.
constexpr int64_t kSyrkPad = 16;

// a: rows x dp (row-major, the d real columns then zeros), acc: dp x dp. Adds (a^T a)[i][j]
// into acc for every i <= j < d; entries below the diagonal inside diagonal tiles may be
// touched too and must be ignored by the caller.
void syrk_upper_scalar(const double* a, int64_t rows, int64_t d, int64_t dp, double* acc);
void syrk_upper_avx2(const double* a, int64_t rows, int64_t d, int64_t dp, double* acc);
void syrk_upper_avx512(const double* a, int64_t rows, int64_t d, int64_t dp, double* acc);

}  // namespace asmodel
}  // namespace acr
