// info(), thread and ISA controls.
#include "common/cpu_features.h"
#include "common/threadpool.h"
#include "cuda/cuda_api.h"
#include "napi/napi_util.h"

namespace acr {
namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", isa_name(best_isa()));
  o.Set("isaDetected", isa_name(detected_isa()));
  o.Set("threads", num_threads());
  o.Set("cudaCompiled", cuda::compiled());
  const int n = cuda::device_count();
  o.Set("gpuCount", n);
  o.Set("gpuName", n > 0 ? cuda::device_name(0) : std::string());
  return o;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  set_num_threads(static_cast<int>(napi::integer(info, 0, "threads", 0, 256)));
  return Napi::Number::New(info.Env(), num_threads());
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  const std::string name = napi::string(info, 0, "isa");
  Isa want;
  if (name == "scalar") want = Isa::Scalar;
  else if (name == "avx2") want = Isa::Avx2;
  else if (name == "avx512") want = Isa::Avx512;
  else napi::throw_error(info.Env(), "ERR_ARG", "isa: expected 'scalar', 'avx2' or 'avx512', got '" + name + "'");
  return Napi::String::New(info.Env(), isa_name(set_isa(want)));
}

}  // namespace

void register_info(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
}

}  // namespace acr
