// AVX2 + FMA build of the block projection.
#include "asm/project_impl.h"

namespace acr {
namespace asmodel {

typedef double v4d __attribute__((vector_size(32)));

void project_block_avx2(const PaddedBasis& b, const double* c, double* coeff, double* recon) {
  project_block<v4d>(b, c, coeff, recon);
}

}  // namespace asmodel
}  // namespace acr
