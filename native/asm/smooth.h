// Smooth-Face: project a shape on the first k principal components, clamp each coefficient
// to +-3 sqrt(lambda_i), reconstruct. Batched (blocks of shapes share each component load) and
// threaded over shapes; float64 inside.
#pragma once

#include <cstdint>
#include <functional>

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

// Calls visit(r, recon) for every row r of x (n x d) with its Smooth-Face recon[d], from
// several threads at once (rows are disjoint).
template <typename T>
void for_each_smooth(const T* x, int64_t n, const Basis& m, const std::function<void(int64_t, const double*)>& visit);

// out[n x d] = Smooth-Face of each row of x[n x d]. out may be x itself (each face is read
// before it is written) but must not partly overlap it.
template <typename T>
void smooth(const T* x, int64_t n, const Basis& m, T* out);

}  // namespace asmodel
}  // namespace acr
