// N-API glue for the loss family: unwrap typed arrays, re-check every size, call, wrap.
// Outputs are caller-provided Float32Arrays (so tfjs kernels can write straight into backend
// buffers); every function returns the reduced loss (for 'none': the sum of the elements).
#include <string>

#include "loss/acr_loss.h"
#include "loss/bandwidth.h"
#include "napi/napi_util.h"

namespace acr {
namespace {

using napi::View;

loss::Reduction reduction_arg(const Napi::CallbackInfo& info, size_t i) {
  const std::string s = napi::string(info, i, "reduction");
  if (s == "mean") return loss::Reduction::Mean;
  if (s == "sum") return loss::Reduction::Sum;
  if (s == "none") return loss::Reduction::None;
  napi::throw_error(info.Env(), "ERR_ARG", "reduction: expected 'mean', 'sum' or 'none', got '" + s + "'");
}

loss::Constant constant_arg(const Napi::CallbackInfo& info, size_t i) {
  const std::string s = napi::string(info, i, "constant");
  if (s == "continuous") return loss::Constant::Continuous;
  if (s == "reference") return loss::Constant::Reference;
  napi::throw_error(info.Env(), "ERR_ARG", "constant: expected 'continuous' or 'reference', got '" + s + "'");
}

loss::Device device_arg(const Napi::CallbackInfo& info, size_t i) {
  const std::string s = napi::string(info, i, "device");
  if (s == "auto") return loss::Device::Auto;
  if (s == "cpu") return loss::Device::Cpu;
  if (s == "cuda") return loss::Device::Cuda;
  napi::throw_error(info.Env(), "ERR_ARG", "device: expected 'auto', 'cpu' or 'cuda', got '" + s + "'");
}

// B and D, and n = B * D with a bound that keeps every offset well inside int64.
int64_t batch_size(const Napi::CallbackInfo& info, size_t i_b, size_t i_d) {
  const int64_t b = napi::integer(info, i_b, "batch", 0, int64_t{1} << 40);
  const int64_t d = napi::integer(info, i_d, "dim", 0, int64_t{1} << 40);
  if (d != 0 && b > (int64_t{1} << 45) / d)
    napi::throw_error(info.Env(), "ERR_RANGE", "batch * dim: too many elements");
  return b * d;
}

// The shared tail of every loss call: weight, the incoming gradient, outputs.
struct Common {
  loss::Inputs in;
  loss::Outputs out;
  loss::Reduction reduction = loss::Reduction::Mean;
};

// Arguments from index `i`: reduction, dyScalar, dy|null, lossOut|null, gradOut|null.
void common_tail(const Napi::CallbackInfo& info, size_t i, Common& c) {
  Napi::Env env = info.Env();
  const size_t n = static_cast<size_t>(c.in.n);
  c.reduction = reduction_arg(info, i);
  c.out.dy_scalar = static_cast<float>(napi::number(info, i + 1, "dyScalar"));
  if (i + 2 < info.Length() && info[i + 2].IsTypedArray() && c.reduction != loss::Reduction::None)
    napi::throw_error(env, "ERR_ARG", "dy: a per-element incoming gradient needs reduction 'none'");
  c.out.dy = napi::optional_sized_array<float>(info, i + 2, "dy", n).data;
  const View<float> loss_out =
      napi::optional_sized_array<float>(info, i + 3, "lossOut", c.reduction == loss::Reduction::None ? n : 1);
  if (c.reduction == loss::Reduction::None) c.out.loss_elem = loss_out.data;
  c.out.grad = napi::optional_sized_array<float>(info, i + 4, "gradOut", n).data;
}

Napi::Value finish(const Napi::CallbackInfo& info, const Common& c, const loss::Result& r, size_t loss_out_index) {
  Napi::Env env = info.Env();
  switch (r.status) {
    case loss::Status::Ok: break;
    case loss::Status::PhiOutOfRange:
      napi::throw_error(env, "ERR_RANGE", "phi: expected values in [0, 1], got " +
                                              std::to_string(c.in.phi[r.bad_index]) + " at index " +
                                              std::to_string(r.bad_index));
    case loss::Status::WeightOutOfRange:
      napi::throw_error(env, "ERR_RANGE", "weight: expected finite values >= 0, got " +
                                              std::to_string(c.in.weight[r.bad_index]) + " at index " +
                                              std::to_string(r.bad_index));
    case loss::Status::NoDevice:
      napi::throw_error(env, "ERR_UNSUPPORTED", "device: 'cuda' requested but no CUDA device is available");
    case loss::Status::DeviceError:
      napi::throw_error(env, "ERR_NATIVE", "device: the CUDA loss kernel failed: " + r.message);
  }
  // A scalar reduction also lands in lossOut[0] when one was given (tfjs outputs).
  if (c.reduction != loss::Reduction::None && loss_out_index < info.Length() && info[loss_out_index].IsTypedArray()) {
    const View<float> lo = napi::typed_array<float>(info, loss_out_index, "lossOut");
    lo.data[0] = static_cast<float>(r.loss);
  }
  return Napi::Number::New(env, r.loss);
}

// acrLossAndGrad(pred, gt, phi, weight|null, B, D, lambda, threshold, constant, device,
//                reduction, dyScalar, dy|null, lossOut|null, gradOut|null) -> number
Napi::Value AcrLossAndGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Common c;
  c.in.n = batch_size(info, 4, 5);
  const size_t n = static_cast<size_t>(c.in.n);
  const View<float> pred = napi::sized_array<float>(info, 0, "pred", n);
  const View<float> gt = napi::sized_array<float>(info, 1, "gt", n);
  const View<float> phi = napi::sized_array<float>(info, 2, "phi", n);
  const View<float> w = napi::optional_sized_array<float>(info, 3, "weight", n);
  loss::AcrParams p;
  const double lambda = napi::number(info, 6, "lambda"), t = napi::number(info, 7, "threshold");
  if (!(lambda > 0 && lambda <= 1e30)) napi::throw_error(env, "ERR_RANGE", "lambda: expected a number in (0, 1e30]");
  if (!(t > 0 && t <= loss::kMaxThreshold))
    napi::throw_error(env, "ERR_RANGE", "threshold: expected a number in (0, 1e18]");
  p.lambda = static_cast<float>(lambda);
  p.threshold = static_cast<float>(t);
  p.constant = constant_arg(info, 8);
  const loss::Device device = device_arg(info, 9);
  common_tail(info, 10, c);
  c.in.pred = pred.data;
  c.in.gt = gt.data;
  c.in.phi = phi.data;
  c.in.weight = w.data;
  return finish(info, c, loss::acr_loss(c.in, p, c.reduction, c.out, device), 13);
}

// l2LossAndGrad / l1LossAndGrad(pred, gt, weight|null, B, D, reduction, dyScalar, dy|null,
//                               lossOut|null, gradOut|null) -> number
template <int kKind>
Napi::Value BaseLossAndGrad(const Napi::CallbackInfo& info) {
  Common c;
  c.in.n = batch_size(info, 3, 4);
  const size_t n = static_cast<size_t>(c.in.n);
  const View<float> pred = napi::sized_array<float>(info, 0, "pred", n);
  const View<float> gt = napi::sized_array<float>(info, 1, "gt", n);
  const View<float> w = napi::optional_sized_array<float>(info, 2, "weight", n);
  common_tail(info, 5, c);
  c.in.pred = pred.data;
  c.in.gt = gt.data;
  c.in.weight = w.data;
  const loss::Result r = kKind == 0 ? loss::l2_loss(c.in, c.reduction, c.out) : loss::l1_loss(c.in, c.reduction, c.out);
  return finish(info, c, r, 8);
}

// bandwidthCopy(src, dst): dst = src (equal lengths).
Napi::Value BandwidthCopy(const Napi::CallbackInfo& info) {
  const View<float> src = napi::typed_array<float>(info, 0, "src");
  const View<float> dst = napi::sized_array<float>(info, 1, "dst", src.length);
  loss::copy_floats(src.data, dst.data, static_cast<int64_t>(src.length));
  return info.Env().Undefined();
}

// bandwidthRead(src) -> the float64 sum of src.
Napi::Value BandwidthRead(const Napi::CallbackInfo& info) {
  const View<float> src = napi::typed_array<float>(info, 0, "src");
  return Napi::Number::New(info.Env(), loss::read_floats(src.data, static_cast<int64_t>(src.length)));
}

}  // namespace

void register_loss(Napi::Env env, Napi::Object exports) {
  exports.Set("acrLossAndGrad", Napi::Function::New(env, AcrLossAndGrad, "acrLossAndGrad"));
  exports.Set("l2LossAndGrad", Napi::Function::New(env, BaseLossAndGrad<0>, "l2LossAndGrad"));
  exports.Set("l1LossAndGrad", Napi::Function::New(env, BaseLossAndGrad<1>, "l1LossAndGrad"));
  exports.Set("bandwidthCopy", Napi::Function::New(env, BandwidthCopy, "bandwidthCopy"));
  exports.Set("bandwidthRead", Napi::Function::New(env, BandwidthRead, "bandwidthRead"));
}

}  // namespace acr
