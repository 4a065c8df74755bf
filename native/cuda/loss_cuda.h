// CUDA version of the fused ACR loss + gradient (native/cuda/loss.cu). The host arrays are
// copied to the device, one kernel computes losses, gradients and per-block float64 partial
// sums, a second one reduces them; outputs are copied back. Without nvcc the twin in
// nocuda/loss.cc reports that no device is available.
#pragma once

#include <cstdint>
#include <string>

#include "loss/loss_impl.h"

namespace acr {
namespace cuda {

struct LossRun {
  bool ok = false;
  std::string error;  // when !ok
  loss::BlockResult result;
};

// Same contract as the CPU block kernels over the whole array (c.grad_scale already holds
// the reduction's normaliser times dy).
LossRun acr_loss(const loss::Block& all, const loss::Consts& c);

}  // namespace cuda
}  // namespace acr
