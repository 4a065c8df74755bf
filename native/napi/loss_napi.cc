#include "napi/napi_util.h"

namespace acr {

void register_loss(Napi::Env env, Napi::Object exports) {}

}  // namespace acr
