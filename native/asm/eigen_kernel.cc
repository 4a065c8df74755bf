// Baseline build (SSE2 on x86-64) of the eigensolver kernels.
#include "asm/eigen_impl.h"
#include "asm/eigen_kernel.h"

namespace acr {
namespace asmodel {

typedef double v2d __attribute__((vector_size(16)));

bool tridiagonal_eigh_scalar(double* w, int64_t n, double* values, double* z, int64_t ldz) {
  return tridiagonal_eigh<v2d>(w, n, values, z, ldz);
}

}  // namespace asmodel
}  // namespace acr
