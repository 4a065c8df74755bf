// Geometry of an NHWC convolution as tfjs computes it (backend_util.computeConv2DInfo):
// x [N,H,W,C], filter [KH,KW,C,OC] (depthwise: [KH,KW,C,mult], OC = C*mult), y [N,OH,OW,OC].
// Input row of output oh, tap kh: ih = oh*sh - pt + kh*dh (same for columns); taps outside
// the input read zero.
#pragma once

#include <cstdint>

namespace acr {
namespace nn {

struct ConvShape {
  int64_t N, H, W, C, OH, OW, OC, KH, KW, sh, sw, dh, dw, pt, pl;

  int64_t x_size() const { return N * H * W * C; }
  int64_t y_size() const { return N * OH * OW * OC; }
  int64_t filter_size() const { return KH * KW * C * OC; }
  int64_t depthwise_filter_size() const { return KH * KW * OC; }
};

}  // namespace nn
}  // namespace acr
