#include "asm/dispatch.h"

#include "asm/covariance.h"
#include "cuda/asm_cuda.h"
#include "cuda/cuda_api.h"

namespace acr {
namespace asmodel {
namespace {

// Multiply-adds below which 'auto' stays on the CPU: the GPU's first call pays for its context
// (a few hundred ms) and every call for the copies, while a multi-core CPU does 10^9 in tens of
// ms. So: N >= ~260,000 shapes at D = 196 for the covariance, N * (k + 1) * D >= 10^9 for Phi.
constexpr double kCovGpuWork = 1e10;
constexpr double kProjectGpuWork = 1e9;

bool want_gpu(Device device, double work, double threshold) {
  if (device == Device::Cpu) return false;
  if (device == Device::Cuda) return true;
  return work >= threshold && cuda::device_count() > 0;
}

}  // namespace

template <typename T>
Ran mean_covariance_on(Device device, const T* x, int64_t n, int64_t d, double* mean, double* cov) {
  Ran ran;
  const double work = static_cast<double>(n) * static_cast<double>(d) * static_cast<double>(d);
  if (want_gpu(device, work, kCovGpuWork)) {
    ran.error = cuda::asm_mean_covariance(x, n, d, mean, cov);
    if (ran.error.empty()) {
      ran.gpu = true;
      return ran;
    }
    if (device == Device::Cuda) return ran;
    ran.error.clear();  // Auto: a failed GPU attempt falls back to the CPU
  }
  mean_covariance(x, n, d, mean, cov);
  return ran;
}

template <typename T>
Ran project_on(Device device, const T* x, int64_t n, const Basis& m, const PhiMode* phi_mode, double epsilon, T* out) {
  Ran ran;
  const double work = static_cast<double>(n) * static_cast<double>(m.d) * static_cast<double>(m.k + 1);
  if (want_gpu(device, work, kProjectGpuWork)) {
    const int mode = phi_mode == nullptr ? cuda::kAsmSmooth
                     : *phi_mode == PhiMode::Coordinate ? cuda::kAsmPhiCoordinate
                                                        : cuda::kAsmPhiLandmark;
    ran.error = cuda::asm_project(x, n, m.d, m.mean, m.components, m.eigenvalues, m.k, mode, epsilon, out);
    if (ran.error.empty()) {
      ran.gpu = true;
      return ran;
    }
    if (device == Device::Cuda) return ran;
    ran.error.clear();
  }
  if (phi_mode == nullptr) {
    smooth(x, n, m, out);
  } else {
    phi(x, n, m, *phi_mode, epsilon, out);
  }
  return ran;
}

template Ran mean_covariance_on<float>(Device, const float*, int64_t, int64_t, double*, double*);
template Ran mean_covariance_on<double>(Device, const double*, int64_t, int64_t, double*, double*);
template Ran project_on<float>(Device, const float*, int64_t, const Basis&, const PhiMode*, double, float*);
template Ran project_on<double>(Device, const double*, int64_t, const Basis&, const PhiMode*, double, double*);

}  // namespace asmodel
}  // namespace acr
