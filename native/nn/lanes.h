// Float lanes of one vector register at the instruction set this translation unit is compiled
// for: the *_impl.h kernels are included once per ISA file (*_scalar/_avx2/_avx512.cc) and size
// their register blocks with it. A const at namespace scope has internal linkage, so each file
// keeps its own value.
#pragma once

namespace acr {
namespace nn {

#if defined(__AVX512F__)
constexpr int kLanes = 16;
#elif defined(__AVX2__)
constexpr int kLanes = 8;
#else
constexpr int kLanes = 4;
#endif

}  // namespace nn
}  // namespace acr
