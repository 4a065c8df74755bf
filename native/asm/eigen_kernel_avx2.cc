// AVX2 + FMA build of the eigensolver kernels.
#include "asm/eigen_impl.h"
#include "asm/eigen_kernel.h"

namespace acr {
namespace asmodel {

typedef double v4d __attribute__((vector_size(32)));

bool tridiagonal_eigh_avx2(double* w, int64_t n, double* values, double* z, int64_t ldz) {
  return tridiagonal_eigh<v4d>(w, n, values, z, ldz);
}

}  // namespace asmodel
}  // namespace acr
