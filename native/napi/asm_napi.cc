#include "napi/napi_util.h"

namespace acr {

void register_asm(Napi::Env env, Napi::Object exports) {}

}  // namespace acr
