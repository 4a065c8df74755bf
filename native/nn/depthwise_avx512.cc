// Depthwise loops compiled for avx512 (see depthwise_impl.h).
#include "nn/depthwise_impl.h"

namespace acr {
namespace nn {

DepthwiseFns depthwise_avx512() { return kDepthwiseFns; }

}  // namespace nn
}  // namespace acr
