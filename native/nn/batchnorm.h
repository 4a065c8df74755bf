// Batch normalisation over the last (channel) axis in training mode, fused: statistics,
// normalisation, scale and shift in two passes; the gradient (through the batch statistics)
// in two more. x is [rows, C] (NHWC flattened); mean/variance are per channel, population
// variance as tfjs moments() gives.
#pragma once

#include <cstdint>

namespace acr {
namespace nn {

// y = gamma * (x - mean) / sqrt(var + eps) + beta; writes mean and var. gamma/beta may be null (1/0).
// With cap >= 0, y = relu_cap(that, cap) in the same pass (BatchNormalization + ReLU(maxValue)
// fused): bit-identical to batchnorm_train followed by relu_cap. cap < 0 (or NaN): no activation.
void batchnorm_train(int64_t rows, int64_t C, const float* x, const float* gamma, const float* beta, float eps,
                     float* y, float* mean, float* var, float cap = -1.f);

// dx, dgamma, dbeta for the above given dy (mean/var as returned by the forward). With cap >= 0
// the gradient of the fused BN + capped ReLU: the pre-activation is recomputed from x, mean,
// var, gamma and beta exactly as the forward made it, and dy is gated by relu_cap_grad's rule;
// bit-identical to relu_cap_grad followed by batchnorm_train_grad. beta is read only then.
void batchnorm_train_grad(int64_t rows, int64_t C, const float* dy, const float* x, const float* gamma,
                          const float* mean, const float* var, float eps, float* dx, float* dgamma, float* dbeta,
                          const float* beta = nullptr, float cap = -1.f);

// y = min(max(x, 0), cap) and its gradient dx = dy where 0 < x <= cap, else 0 (NaN for NaN x),
// exactly as tfjs' relu followed by clipByValue.
void relu_cap(int64_t n, const float* x, float cap, float* y);
void relu_cap_grad(int64_t n, const float* dy, const float* x, float cap, float* dx);

// Per-ISA implementations (batchnorm_impl.h compiled with each file's flags; all bit-identical).
struct BatchNormFns {
  void (*train)(int64_t, int64_t, const float*, const float*, const float*, float, float*, float*, float*, float);
  void (*train_grad)(int64_t, int64_t, const float*, const float*, const float*, const float*, const float*, float,
                     float*, float*, float*, const float*, float);
  void (*relu_cap)(int64_t, const float*, float, float*);
  void (*relu_cap_grad)(int64_t, const float*, const float*, float, float*);
};
BatchNormFns batchnorm_scalar();
BatchNormFns batchnorm_avx2();
BatchNormFns batchnorm_avx512();

}  // namespace nn
}  // namespace acr
