// Baseline build (SSE2 on x86-64) of the block projection.
#include "asm/project_impl.h"

namespace acr {
namespace asmodel {

typedef double v2d __attribute__((vector_size(16)));

void project_block_scalar(const PaddedBasis& b, const double* c, double* coeff, double* recon) {
  project_block<v2d>(b, c, coeff, recon);
}

}  // namespace asmodel
}  // namespace acr
