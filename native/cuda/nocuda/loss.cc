// Built instead of loss.cu without a CUDA compiler: there is never a device to run on.
#include "cuda/loss_cuda.h"

namespace acr {
namespace cuda {

LossRun acr_loss(const loss::Block&, const loss::Consts&) {
  LossRun r;
  r.error = "this build has no CUDA kernels (built without nvcc or with ACR_CUDA=OFF)";
  return r;
}

}  // namespace cuda
}  // namespace acr
