// The ACR loss (Fard & Mahoor, ICPR 2022) and the plain baselines, fused forward + gradient
// in one pass over float32 B x D arrays (row-major, treated as n = B*D elements).
//
//   d = pred - gt, a = |d|, p = 2 - phi
//   a <= t :  l = lambda ln(1 + a^p)          g = lambda p a^(p-1) / (1 + a^p) sign(d)
//   a >  t :  l = a^2 + C                     g = 2 d
//   C = lambda ln(1 + t^p) - t^2   ('continuous', default: l is continuous at a = t)
//   C = phi ln 2 - 1               ('reference', the authors' code)
//
// With a weight w (visibility mask or per-element weight, >= 0) each element contributes w l.
// Reductions: sum = sum(w l); mean = sum(w l) / sum(w) (= / n without weights; 0 when
// sum(w) = 0); none = w l per element. grad = d(reduced loss)/d(pred), times the incoming
// gradient dy (a scalar for mean/sum, one value per element for none).
// Sums are accumulated in float64 in fixed blocks, so results do not depend on thread count.
#pragma once

#include <cstdint>
#include <string>

namespace acr {
namespace loss {

enum class Reduction : int { Mean = 0, Sum = 1, None = 2 };
enum class Constant : int { Continuous = 0, Reference = 1 };
// Where the work runs: Auto picks CUDA only for large inputs when a device is present.
enum class Device : int { Auto = 0, Cpu = 1, Cuda = 2 };

struct Inputs {
  const float* pred = nullptr;
  const float* gt = nullptr;
  const float* phi = nullptr;     // ACR only; values are clamped to [0, 1]
  const float* weight = nullptr;  // null: every weight is 1
  int64_t n = 0;
};

struct Outputs {
  float* loss_elem = nullptr;  // n per-element losses (reduction None), or null
  float* grad = nullptr;       // n gradient values, or null (forward only)
  const float* dy = nullptr;   // n incoming gradients (reduction None), or null
  float dy_scalar = 1.0f;      // incoming gradient of the reduced loss (mean/sum)
};

struct AcrParams {
  float lambda = 1.0f;     // > 0
  float threshold = 1.0f;  // > 0, <= kMaxThreshold
  Constant constant = Constant::Continuous;
};

// a^p <= t^2 must stay well inside float32 range.
constexpr double kMaxThreshold = 1e18;

enum class Status : int {
  Ok = 0,
  PhiOutOfRange = 1,     // some phi outside [0, 1] or NaN (see bad_index)
  WeightOutOfRange = 2,  // some weight negative, NaN or infinite
  NoDevice = 3,          // Device::Cuda requested without a usable device
  DeviceError = 4,       // a CUDA call failed
};

struct Result {
  double loss = 0.0;   // reduced loss (mean or sum); for None the sum of the elements
  Status status = Status::Ok;
  int64_t bad_index = -1;  // first offending element for the *OutOfRange statuses
  bool on_device = false;  // the CUDA path ran
  std::string message;     // for DeviceError
};

Result acr_loss(const Inputs& in, const AcrParams& params, Reduction reduction, const Outputs& out,
                Device device = Device::Auto);
// L2: l = d^2, g = 2 d.  L1: l = |d|, g = sign(d). Same weights, reductions and outputs.
Result l2_loss(const Inputs& in, Reduction reduction, const Outputs& out);
Result l1_loss(const Inputs& in, Reduction reduction, const Outputs& out);

// Smallest n for which Device::Auto sends the ACR loss to the GPU.
int64_t cuda_min_elements();

}  // namespace loss
}  // namespace acr
