// Outer-product accumulation compiled for avx512 (see outer_impl.h).
#include "nn/outer_impl.h"

namespace acr {
namespace nn {

OuterFn outer_avx512() { return outer_kernel; }
int outer_lanes_avx512() { return kLanes; }

}  // namespace nn
}  // namespace acr
