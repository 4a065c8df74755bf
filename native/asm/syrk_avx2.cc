// AVX2 + FMA build of the covariance kernel: 6 x 8 tiles, 12 accumulators in ymm registers.
#include "asm/syrk.h"

#include "asm/syrk_impl.h"

namespace acr {
namespace asmodel {

typedef double v4d __attribute__((vector_size(32)));

void syrk_upper_avx2(const double* a, int64_t rows, int64_t d, int64_t dp, double* acc) {
  syrk_upper<v4d, 6>(a, rows, d, dp, acc);
}

}  // namespace asmodel
}  // namespace acr
