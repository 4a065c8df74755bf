// Symmetric eigendecomposition in float64: Householder tridiagonalisation, then the implicit
// QL algorithm with Wilkinson-type shifts (EISPACK tql2), rotations replayed on the vectors
// in parallel column strips.
#pragma once

#include <cstdint>

namespace acr {
namespace asmodel {

// a: n x n row-major; its symmetric part (a + a^T) / 2 is decomposed. Writes the eigenvalues in
// descending order to values[n] and the matching unit eigenvectors to the ROWS of vectors[n*n]
// (row i belongs to values[i]; its largest-magnitude entry is made positive, the first one on
// ties). `vectors` may be `a` itself: the input is copied first. Returns nullptr on success,
// otherwise a message (non-finite input, no convergence).
const char* eigh(const double* a, int64_t n, double* values, double* vectors);

}  // namespace asmodel
}  // namespace acr
