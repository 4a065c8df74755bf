// Internal to native/loss: the per-ISA block kernels the driver (acr_loss.cc) dispatches to.
#pragma once

#include <cstdint>

#include "loss/acr_loss.h"

namespace acr {
namespace loss {

// One contiguous block of elements. Pointers are already offset to the block's start.
struct Block {
  const float* pred;
  const float* gt;
  const float* phi;  // ACR only
  const float* w;    // null: weights are 1
  const float* dy;   // null: the scalar grad_scale alone
  float* loss_elem;  // null: not wanted
  float* grad;       // null: not wanted
  int64_t n;
};

// Constants shared by every element of one call.
struct Consts {
  float lambda = 1, t = 1, log_t = 0;
  bool reference = false;  // Constant::Reference
  float grad_scale = 1;    // dy_scalar times the reduction's normaliser
};

enum : uint32_t { kBadPhi = 1u, kBadWeight = 2u };

struct BlockResult {
  double sum = 0;      // sum of w l over the block
  uint32_t flags = 0;  // kBadPhi | kBadWeight
};

// Above this |d| (or for NaN/Inf) the SIMD kernels hand the element to acr_element, which
// works in float64 and saturates float32 outputs at +-FLT_MAX.
constexpr float kBigDiff = 1.0e18f;

struct ElementOut {
  double loss;  // w l
  double grad;  // w g (before grad_scale and dy)
};
// The one scalar definition of the ACR loss for a single element (float64 inside); d is
// pred - gt rounded to float32 as the SIMD kernels round it (so both pick the same branch).
ElementOut acr_element(float pred, float gt, float phi, float w, const Consts& c);
ElementOut base_element(int kind, float pred, float gt, float w);  // kind: 0 = L2, 1 = L1
float saturate(double x);

BlockResult acr_block_scalar(const Block& b, const Consts& c);
BlockResult acr_block_avx2(const Block& b, const Consts& c);
BlockResult acr_block_avx512(const Block& b, const Consts& c);

double sum_block_scalar(const float* x, int64_t n);
double sum_block_avx2(const float* x, int64_t n);
double sum_block_avx512(const float* x, int64_t n);

// Baselines. kind: 0 = L2, 1 = L1.
BlockResult base_block_scalar(int kind, const Block& b, float grad_scale);
BlockResult base_block_avx2(int kind, const Block& b, float grad_scale);
BlockResult base_block_avx512(int kind, const Block& b, float grad_scale);

}  // namespace loss
}  // namespace acr
