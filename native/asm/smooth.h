// Smooth-Face: project a shape on the first k principal components, clamp each coefficient
// to +-3 sqrt(lambda_i), reconstruct. Batched and threaded over shapes; float64 inside.
#pragma once

#include <cstdint>

namespace acr {
namespace asmodel {

// A fitted shape model as the kernels see it (all arrays borrowed, float64).
struct Basis {
  const double* mean;         // d
  const double* components;   // k x d, row i = unit eigenvector i
  const double* eigenvalues;  // k (negative values count as 0)
  int64_t d;
  int64_t k;
};

// Smooth-Face of one shape: s[d] in, recon[d] out; coeff[k] is scratch.
template <typename T>
void smooth_one(const Basis& m, const T* s, double* coeff, double* recon);

// out[n x d] = Smooth-Face of each row of x[n x d]. out may not alias x.
template <typename T>
void smooth(const T* x, int64_t n, const Basis& m, T* out);

}  // namespace asmodel
}  // namespace acr
