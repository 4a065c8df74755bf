// Outer-product accumulation compiled for avx2 (see outer_impl.h).
#include "nn/outer_impl.h"

namespace acr {
namespace nn {

OuterFn outer_avx2() { return outer_kernel; }
int outer_lanes_avx2() { return kLanes; }

}  // namespace nn
}  // namespace acr
