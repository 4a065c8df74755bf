// Built instead of the .cu files when no CUDA compiler was found (or ACR_CUDA=OFF).
#include "cuda/cuda_api.h"

namespace acr {
namespace cuda {

bool compiled() { return false; }
int device_count() { return 0; }
std::string device_name(int) { return ""; }

}  // namespace cuda
}  // namespace acr
