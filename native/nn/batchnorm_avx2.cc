// Batch normalisation loops compiled for avx2 (see batchnorm_impl.h).
#include "nn/batchnorm_impl.h"

namespace acr {
namespace nn {

BatchNormFns batchnorm_avx2() { return kBatchNormFns; }

}  // namespace nn
}  // namespace acr
