// Outer-product accumulation compiled for scalar (see outer_impl.h).
#include "nn/outer_impl.h"

namespace acr {
namespace nn {

OuterFn outer_scalar() { return outer_kernel; }
int outer_lanes_scalar() { return kLanes; }

}  // namespace nn
}  // namespace acr
