// Depthwise loops compiled for avx2 (see depthwise_impl.h).
#include "nn/depthwise_impl.h"

namespace acr {
namespace nn {

DepthwiseFns depthwise_avx2() { return kDepthwiseFns; }

}  // namespace nn
}  // namespace acr
