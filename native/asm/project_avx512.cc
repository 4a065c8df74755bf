// AVX-512 build of the block projection.
#include "asm/project_impl.h"

namespace acr {
namespace asmodel {

typedef double v8d __attribute__((vector_size(64)));

void project_block_avx512(const PaddedBasis& b, const double* c, double* coeff, double* recon) {
  project_block<v8d>(b, c, coeff, recon);
}

}  // namespace asmodel
}  // namespace acr
