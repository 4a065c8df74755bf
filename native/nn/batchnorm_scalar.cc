// Batch normalisation loops compiled for scalar (see batchnorm_impl.h).
#include "nn/batchnorm_impl.h"

namespace acr {
namespace nn {

BatchNormFns batchnorm_scalar() { return kBatchNormFns; }

}  // namespace nn
}  // namespace acr
