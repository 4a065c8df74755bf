// Outer-product accumulation compiled for avx512 (see outer_impl.h).
#include "nn/outer_impl.h"

namespace acr {
namespace nn {

OuterKernel outer_avx512() { return {outer_kernel, outer_gather_kernel, kLanes}; }

}  // namespace nn
}  // namespace acr
