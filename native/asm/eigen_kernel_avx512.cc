// AVX-512 build of the eigensolver kernels.
#include "asm/eigen_impl.h"
#include "asm/eigen_kernel.h"

namespace acr {
namespace asmodel {

typedef double v8d __attribute__((vector_size(64)));

bool tridiagonal_eigh_avx512(double* w, int64_t n, double* values, double* z, int64_t ldz) {
  return tridiagonal_eigh<v8d>(w, n, values, z, ldz);
}

}  // namespace asmodel
}  // namespace acr
