#include "nn/batchnorm.h"

#include "common/cpu_features.h"

namespace acr {
namespace nn {
namespace {

BatchNormFns select() {
#if defined(__x86_64__) || defined(_M_X64)
  switch (best_isa()) {
    case Isa::Avx512: return batchnorm_avx512();
    case Isa::Avx2: return batchnorm_avx2();
    default: break;
  }
#endif
  return batchnorm_scalar();
}

}  // namespace

void batchnorm_train(int64_t rows, int64_t C, const float* x, const float* gamma, const float* beta, float eps,
                     float* y, float* mean, float* var, float cap) {
  select().train(rows, C, x, gamma, beta, eps, y, mean, var, cap);
}

void batchnorm_train_grad(int64_t rows, int64_t C, const float* dy, const float* x, const float* gamma,
                          const float* mean, const float* var, float eps, float* dx, float* dgamma, float* dbeta,
                          const float* beta, float cap) {
  select().train_grad(rows, C, dy, x, gamma, mean, var, eps, dx, dgamma, dbeta, beta, cap);
}

void relu_cap(int64_t n, const float* x, float cap, float* y) { select().relu_cap(n, x, cap, y); }

void relu_cap_grad(int64_t n, const float* dy, const float* x, float cap, float* dx) {
  select().relu_cap_grad(n, dy, x, cap, dx);
}

}  // namespace nn
}  // namespace acr
