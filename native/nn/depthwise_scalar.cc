// Depthwise loops compiled for scalar (see depthwise_impl.h).
#include "nn/depthwise_impl.h"

namespace acr {
namespace nn {

DepthwiseFns depthwise_scalar() { return kDepthwiseFns; }

}  // namespace nn
}  // namespace acr
