// Outer-product accumulation compiled for scalar (see outer_impl.h).
#include "nn/outer_impl.h"

namespace acr {
namespace nn {

OuterKernel outer_scalar() { return {outer_kernel, outer_gather_kernel, kLanes}; }

}  // namespace nn
}  // namespace acr
