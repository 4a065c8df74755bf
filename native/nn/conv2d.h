// NHWC 2-D convolution and its two gradients, as (implicit) GEMMs on nn::gemm or outer products
// (nn/outer.h). 1x1 / stride 1 / no padding convolutions are plain GEMMs on the tensors as they
// are, except those that widen a few channels into many over many pixels (outer products, B in
// L1); convolutions of fewer than 8 input channels (an RGB stem) read a zero-padded copy of each
// image through offset tables (outer products); the others feed im2col rows into GEMM packing
// without materialising the im2col matrix (forward, filter gradient) or scatter a GEMM's columns
// back into the image (col2im, input gradient).
#pragma once

#include "nn/conv_shape.h"
#include "nn/gemm.h"

namespace acr {
namespace nn {

// y = act(conv(x, f) + bias).
void conv2d_forward(const ConvShape& s, const float* x, const float* f, float* y, const Epilogue& ep);
// dx = d(sum y*dy)/dx, dy [N,OH,OW,OC] -> dx [N,H,W,C].
void conv2d_backprop_input(const ConvShape& s, const float* dy, const float* f, float* dx);
// df = d(sum y*dy)/df, -> df [KH,KW,C,OC].
void conv2d_backprop_filter(const ConvShape& s, const float* x, const float* dy, float* df);

}  // namespace nn
}  // namespace acr
