// Outer-product accumulation compiled for avx2 (see outer_impl.h).
#include "nn/outer_impl.h"

namespace acr {
namespace nn {

OuterKernel outer_avx2() { return {outer_kernel, outer_gather_kernel, kLanes}; }

}  // namespace nn
}  // namespace acr
