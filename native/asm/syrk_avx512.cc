// AVX-512 build of the covariance kernel: 8 x 16 tiles, 16 accumulators in zmm registers.
#include "asm/syrk.h"

#include "asm/syrk_impl.h"

namespace acr {
namespace asmodel {

typedef double v8d __attribute__((vector_size(64)));

void syrk_upper_avx512(const double* a, int64_t rows, int64_t d, int64_t dp, double* acc) {
  syrk_upper<v8d, 8>(a, rows, d, dp, acc);
}

}  // namespace asmodel
}  // namespace acr
