// Baseline build of the covariance kernel (SSE2 on x86-64, the host's vectors elsewhere).
#include "asm/syrk.h"

#include "asm/syrk_impl.h"

namespace acr {
namespace asmodel {

typedef double v2d __attribute__((vector_size(16)));

void syrk_upper_scalar(const double* a, int64_t rows, int64_t d, int64_t dp, double* acc) {
  syrk_upper<v2d, 4>(a, rows, d, dp, acc);
}

}  // namespace asmodel
}  // namespace acr
