// CUDA kernels of the Active Shape Model family: covariance for large N (tiled, float64
// accumulation) and the batched Smooth-Face / Phi projection. The D x D eigensolver stays on
// the CPU. Without a CUDA toolkit these are built from nocuda/asm.cc and report that no device
// is available. Every function returns "" on success, otherwise a message.
#pragma once

#include <cstdint>
#include <string>

namespace acr {
namespace cuda {

constexpr int kAsmSmooth = 0;
constexpr int kAsmPhiCoordinate = 1;
constexpr int kAsmPhiLandmark = 2;

// Same contract as asmodel::mean_covariance.
std::string asm_mean_covariance(const float* x, int64_t n, int64_t d, double* mean, double* cov);
std::string asm_mean_covariance(const double* x, int64_t n, int64_t d, double* mean, double* cov);

// Same contract as asmodel::smooth (mode kAsmSmooth) and asmodel::phi (the two Phi modes).
std::string asm_project(const float* x, int64_t n, int64_t d, const double* mean, const double* components,
                        const double* eigenvalues, int64_t k, int mode, double epsilon, float* out);
std::string asm_project(const double* x, int64_t n, int64_t d, const double* mean, const double* components,
                        const double* eigenvalues, int64_t k, int mode, double epsilon, double* out);

}  // namespace cuda
}  // namespace acr
