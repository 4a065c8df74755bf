// N-API glue of the Active Shape Model family: covariance, eigh, Smooth-Face, Phi. Results are
// written into caller-provided typed arrays; every size is checked again here.
#include <string>

#include "asm/dispatch.h"
#include "asm/eigen.h"
#include "cuda/cuda_api.h"
#include "napi/napi_util.h"

namespace acr {
namespace {

using asmodel::Device;
constexpr int64_t kMaxDim = int64_t(1) << 31;

// A Float32Array or Float64Array argument.
struct Shapes {
  napi::View<float> f32;
  napi::View<double> f64;
  bool is_f64 = false;
  size_t length() const { return is_f64 ? f64.length : f32.length; }
  const void* begin() const { return is_f64 ? static_cast<const void*>(f64.data) : static_cast<const void*>(f32.data); }
  size_t bytes() const { return is_f64 ? f64.length * sizeof(double) : f32.length * sizeof(float); }
};

Shapes shapes_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Shapes s;
  if (i < info.Length() && info[i].IsTypedArray() &&
      info[i].As<Napi::TypedArray>().TypedArrayType() == napi_float64_array) {
    s.is_f64 = true;
    s.f64 = napi::typed_array<double>(info, i, name);
  } else if (i < info.Length() && info[i].IsTypedArray() &&
             info[i].As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
    s.f32 = napi::typed_array<float>(info, i, name);
  } else {
    napi::throw_error(info.Env(), "ERR_DTYPE", std::string(name) + ": expected a Float32Array or a Float64Array");
  }
  return s;
}

// The output must have the input's element type and must not partly overlap it (in place is fine:
// each face is read completely before it is written).
Shapes output_arg(const Napi::CallbackInfo& info, size_t i, const Shapes& in, size_t expected) {
  Napi::Env env = info.Env();
  Shapes out;
  out.is_f64 = in.is_f64;
  if (in.is_f64) {
    out.f64 = napi::typed_array<double>(info, i, "out");
  } else {
    out.f32 = napi::typed_array<float>(info, i, "out");
  }
  if (out.length() != expected)
    napi::throw_error(env, "ERR_SHAPE", "out: expected " + std::to_string(expected) + " elements, got " + std::to_string(out.length()));
  const char* a = static_cast<const char*>(in.begin());
  const char* b = static_cast<const char*>(out.begin());
  if (a && b && a != b && a < b + out.bytes() && b < a + in.bytes())
    napi::throw_error(env, "ERR_ARG", "out: must not partly overlap x (the same array, for in place, is fine)");
  return out;
}

Device device_arg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsUndefined()) return Device::Auto;
  const std::string s = napi::string(info, i, "device");
  if (s == "auto") return Device::Auto;
  if (s == "cpu") return Device::Cpu;
  if (s == "cuda") {
    if (cuda::device_count() <= 0)
      napi::throw_error(info.Env(), "ERR_UNSUPPORTED",
                        cuda::compiled() ? "device: 'cuda' was requested but no CUDA device is available"
                                         : "device: 'cuda' was requested but this build has no CUDA support");
    return Device::Cuda;
  }
  napi::throw_error(info.Env(), "ERR_ARG", "device: expected 'auto', 'cpu' or 'cuda', got \"" + s + "\"");
}

Napi::Value ran_result(Napi::Env env, const asmodel::Ran& ran) {
  if (!ran.error.empty()) napi::throw_error(env, "ERR_NATIVE", ran.error);
  return Napi::String::New(env, ran.gpu ? "cuda" : "cpu");
}

// asmMeanCov(x, n, d, mean, cov, device?) -> 'cpu' | 'cuda'
Napi::Value MeanCov(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Shapes x = shapes_arg(info, 0, "x");
  const int64_t n = napi::integer(info, 1, "n", 2, kMaxDim);
  const int64_t d = napi::integer(info, 2, "d", 1, kMaxDim);
  if (x.length() != static_cast<size_t>(n * d))
    napi::throw_error(env, "ERR_SHAPE", "x: expected n * d = " + std::to_string(n * d) + " elements, got " + std::to_string(x.length()));
  napi::View<double> mean = napi::sized_array<double>(info, 3, "mean", static_cast<size_t>(d));
  napi::View<double> cov = napi::sized_array<double>(info, 4, "cov", static_cast<size_t>(d * d));
  const Device device = device_arg(info, 5);
  return ran_result(env, x.is_f64 ? asmodel::mean_covariance_on(device, x.f64.data, n, d, mean.data, cov.data)
                                  : asmodel::mean_covariance_on(device, x.f32.data, n, d, mean.data, cov.data));
}

// asmEigh(a, n, values, vectors): rows of `vectors` are the eigenvectors, values descending.
Napi::Value Eigh(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t n = napi::integer(info, 1, "n", 1, int64_t(1) << 20);
  napi::View<double> a = napi::sized_array<double>(info, 0, "a", static_cast<size_t>(n * n));
  napi::View<double> values = napi::sized_array<double>(info, 2, "values", static_cast<size_t>(n));
  napi::View<double> vectors = napi::sized_array<double>(info, 3, "vectors", static_cast<size_t>(n * n));
  if (const char* err = asmodel::eigh(a.data, n, values.data, vectors.data))
    napi::throw_error(env, std::string(err).find("NaN") != std::string::npos ? "ERR_RANGE" : "ERR_NATIVE",
                      std::string("a: ") + err);
  return env.Undefined();
}

// Arguments shared by smooth and phi: (x, n, d, mean, components, eigenvalues, k, ...).
struct ProjectArgs {
  Shapes x;
  int64_t n = 0;
  asmodel::Basis basis{};
};

ProjectArgs project_args(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ProjectArgs p;
  p.x = shapes_arg(info, 0, "x");
  p.n = napi::integer(info, 1, "n", 0, kMaxDim);
  const int64_t d = napi::integer(info, 2, "d", 1, kMaxDim);
  if (p.x.length() != static_cast<size_t>(p.n * d))
    napi::throw_error(env, "ERR_SHAPE", "x: expected n * d = " + std::to_string(p.n * d) + " elements, got " + std::to_string(p.x.length()));
  napi::View<double> mean = napi::sized_array<double>(info, 3, "mean", static_cast<size_t>(d));
  napi::View<double> comps = napi::typed_array<double>(info, 4, "components");
  napi::View<double> values = napi::typed_array<double>(info, 5, "eigenvalues");
  const int64_t k = napi::integer(info, 6, "k", 0, d);
  if (comps.length < static_cast<size_t>(k * d))
    napi::throw_error(env, "ERR_SHAPE", "components: expected at least k * d = " + std::to_string(k * d) + " elements, got " + std::to_string(comps.length));
  if (values.length < static_cast<size_t>(k))
    napi::throw_error(env, "ERR_SHAPE", "eigenvalues: expected at least k = " + std::to_string(k) + " elements, got " + std::to_string(values.length));
  p.basis = asmodel::Basis{mean.data, comps.data, values.data, d, k};
  return p;
}

template <typename T>
asmodel::Ran project(Device device, const ProjectArgs& p, const asmodel::PhiMode* mode, double epsilon, const Shapes& out);
template <>
asmodel::Ran project<float>(Device device, const ProjectArgs& p, const asmodel::PhiMode* mode, double epsilon, const Shapes& out) {
  return asmodel::project_on(device, p.x.f32.data, p.n, p.basis, mode, epsilon, out.f32.data);
}
template <>
asmodel::Ran project<double>(Device device, const ProjectArgs& p, const asmodel::PhiMode* mode, double epsilon, const Shapes& out) {
  return asmodel::project_on(device, p.x.f64.data, p.n, p.basis, mode, epsilon, out.f64.data);
}

// asmSmooth(x, n, d, mean, components, eigenvalues, k, out, device?) -> 'cpu' | 'cuda'
Napi::Value Smooth(const Napi::CallbackInfo& info) {
  const ProjectArgs p = project_args(info);
  const Shapes out = output_arg(info, 7, p.x, p.x.length());
  const Device device = device_arg(info, 8);
  return ran_result(info.Env(), p.x.is_f64 ? project<double>(device, p, nullptr, 0, out) : project<float>(device, p, nullptr, 0, out));
}

// asmPhi(x, n, d, mean, components, eigenvalues, k, mode, epsilon, out, device?) -> 'cpu' | 'cuda'
Napi::Value Phi(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ProjectArgs p = project_args(info);
  const std::string mode_name = napi::string(info, 7, "mode");
  asmodel::PhiMode mode;
  if (mode_name == "coordinate") {
    mode = asmodel::PhiMode::Coordinate;
  } else if (mode_name == "landmark") {
    mode = asmodel::PhiMode::Landmark;
    if (p.basis.d % 2 != 0)
      napi::throw_error(env, "ERR_SHAPE", "d: landmark mode needs (x, y) pairs, got an odd d = " + std::to_string(p.basis.d));
  } else {
    napi::throw_error(env, "ERR_ARG", "mode: expected 'coordinate' or 'landmark', got \"" + mode_name + "\"");
  }
  const double epsilon = napi::number(info, 8, "epsilon");
  if (epsilon < 0) napi::throw_error(env, "ERR_RANGE", "epsilon: expected a number >= 0");
  const Shapes out = output_arg(info, 9, p.x, p.x.length());
  const Device device = device_arg(info, 10);
  return ran_result(env, p.x.is_f64 ? project<double>(device, p, &mode, epsilon, out) : project<float>(device, p, &mode, epsilon, out));
}

}  // namespace

void register_asm(Napi::Env env, Napi::Object exports) {
  exports.Set("asmMeanCov", Napi::Function::New(env, MeanCov, "asmMeanCov"));
  exports.Set("asmEigh", Napi::Function::New(env, Eigh, "asmEigh"));
  exports.Set("asmSmooth", Napi::Function::New(env, Smooth, "asmSmooth"));
  exports.Set("asmPhi", Napi::Function::New(env, Phi, "asmPhi"));
}

}  // namespace acr
