// Where each ASM kernel runs: the CPU, or the GPU when one is present and the work is large
// enough to pay for the transfers (or when the caller insists).
#pragma once

#include <cstdint>
#include <string>

#include "asm/phi.h"
#include "asm/smooth.h"

namespace acr {
namespace asmodel {

enum class Device { Auto, Cpu, Cuda };

struct Ran {
  bool gpu = false;
  std::string error;  // non-empty when the work could not be done (only with Device::Cuda)
};

template <typename T>
Ran mean_covariance_on(Device device, const T* x, int64_t n, int64_t d, double* mean, double* cov);

// mode: smooth when `phi_mode` is null, otherwise Phi with that mode.
template <typename T>
Ran project_on(Device device, const T* x, int64_t n, const Basis& m, const PhiMode* phi_mode, double epsilon, T* out);

}  // namespace asmodel
}  // namespace acr
