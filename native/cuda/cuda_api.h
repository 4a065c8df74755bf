// Device discovery for the CUDA kernels (each kernel family has its own header beside this). With no CUDA toolkit at build time these are
// implemented by nocuda/device.cc and report that no device is available, so callers need no #ifdef.
#pragma once

#include <cstdint>
#include <string>

namespace acr {
namespace cuda {

bool compiled();          // built with nvcc
int device_count();       // 0 when no driver or device (never throws)
std::string device_name(int device);  // "" when none

}  // namespace cuda
}  // namespace acr
