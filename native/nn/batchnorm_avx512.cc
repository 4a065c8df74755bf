// Batch normalisation loops compiled for avx512 (see batchnorm_impl.h).
#include "nn/batchnorm_impl.h"

namespace acr {
namespace nn {

BatchNormFns batchnorm_avx512() { return kBatchNormFns; }

}  // namespace nn
}  // namespace acr
