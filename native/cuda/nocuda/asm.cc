// Host-only twin of cuda/asm.cu: built when no CUDA compiler was found.
#include "cuda/asm_cuda.h"

namespace acr {
namespace cuda {
namespace {
const char* const kNoDevice = "CUDA support was not compiled into this build (no nvcc at build time)";
}

std::string asm_mean_covariance(const float*, int64_t, int64_t, double*, double*) { return kNoDevice; }
std::string asm_mean_covariance(const double*, int64_t, int64_t, double*, double*) { return kNoDevice; }
std::string asm_project(const float*, int64_t, int64_t, const double*, const double*, const double*, int64_t, int,
                        double, float*) {
  return kNoDevice;
}
std::string asm_project(const double*, int64_t, int64_t, const double*, const double*, const double*, int64_t, int,
                        double, double*) {
  return kNoDevice;
}

}  // namespace cuda
}  // namespace acr
