// The O(n^3) part of the symmetric eigensolver, one build per instruction set (chosen at run
// time by eigen.cc): Householder tridiagonalisation, accumulation of Q^T, implicit QL.
#pragma once

#include <cstdint>

namespace acr {
namespace asmodel {

// w: n x n symmetric (row-major, scaled so that max |w| is about 1), destroyed. On success
// values[n] holds the eigenvalues (unsorted) and row i of z (n rows, row stride ldz >= n,
// ldz a multiple of 8) the unit eigenvector of values[i]. Returns false if QL did not converge.
bool tridiagonal_eigh_scalar(double* w, int64_t n, double* values, double* z, int64_t ldz);
bool tridiagonal_eigh_avx2(double* w, int64_t n, double* values, double* z, int64_t ldz);
bool tridiagonal_eigh_avx512(double* w, int64_t n, double* values, double* z, int64_t ldz);

// Row stride of z for every build: a multiple of the widest vector (8 doubles).
inline int64_t eigen_row_stride(int64_t n) { return (n + 7) / 8 * 8; }

}  // namespace asmodel
}  // namespace acr
