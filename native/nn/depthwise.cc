#include "nn/depthwise.h"

#include "common/cpu_features.h"

namespace acr {
namespace nn {
namespace {

DepthwiseFns select() {
#if defined(__x86_64__) || defined(_M_X64)
  switch (best_isa()) {
    case Isa::Avx512: return depthwise_avx512();
    case Isa::Avx2: return depthwise_avx2();
    default: break;
  }
#endif
  return depthwise_scalar();
}

}  // namespace

// With no channels every tensor is empty (OC = C*mult); the loops divide by C.
void depthwise_forward(const ConvShape& s, const float* x, const float* f, float* y, const Epilogue& ep) {
  if (s.C > 0) select().forward(s, x, f, y, ep);
}
void depthwise_backprop_input(const ConvShape& s, const float* dy, const float* f, float* dx) {
  if (s.C > 0) select().backprop_input(s, dy, f, dx);
}
void depthwise_backprop_filter(const ConvShape& s, const float* x, const float* dy, float* df) {
  if (s.C > 0) select().backprop_filter(s, x, dy, df);
}

}  // namespace nn
}  // namespace acr
