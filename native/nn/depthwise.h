// NHWC depthwise convolution (filter [KH,KW,C,mult], output channel c*mult+q) and its two
// gradients: direct loops vectorised over the contiguous channel axis, one variant per ISA.
#pragma once

#include "nn/conv_shape.h"
#include "nn/gemm.h"

namespace acr {
namespace nn {

void depthwise_forward(const ConvShape& s, const float* x, const float* f, float* y, const Epilogue& ep);
void depthwise_backprop_input(const ConvShape& s, const float* dy, const float* f, float* dx);
void depthwise_backprop_filter(const ConvShape& s, const float* x, const float* dy, float* df);

// Per-ISA implementations (depthwise_impl.h compiled with each file's flags).
struct DepthwiseFns {
  void (*forward)(const ConvShape&, const float*, const float*, float*, const Epilogue&);
  void (*backprop_input)(const ConvShape&, const float*, const float*, float*);
  void (*backprop_filter)(const ConvShape&, const float*, const float*, float*);
};
DepthwiseFns depthwise_scalar();
DepthwiseFns depthwise_avx2();
DepthwiseFns depthwise_avx512();

}  // namespace nn
}  // namespace acr
