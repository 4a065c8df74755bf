// Device discovery. The CUDA runtime is linked statically, so this loads on machines with no
// driver: cudaGetDeviceCount then fails and we report zero devices.
#include <cuda_runtime.h>

#include <cstdlib>
#include <string>

#include "cuda/cuda_api.h"

namespace acr {
namespace cuda {

bool compiled() { return true; }

int device_count() {
  static const int count = [] {
    if (const char* env = std::getenv("ACR_CUDA"); env && std::string(env) == "OFF") return 0;
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky error so later calls are not confused by it
      return 0;
    }
    return n;
  }();
  return count;
}

std::string device_name(int device) {
  if (device < 0 || device >= device_count()) return "";
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) return "";
  return prop.name;
}

}  // namespace cuda
}  // namespace acr
