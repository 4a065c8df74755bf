// Module entry: every kernel family registers its own functions. The N-API glue lives in
// native/napi/; the math below it knows nothing about JavaScript.
#include "napi/napi_util.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  acr::register_info(env, exports);
  acr::register_loss(env, exports);
  acr::register_asm(env, exports);
  acr::register_nn(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(acr_native, Init)
