// N-API glue for native/nn: the tfjs cpu backend's own Float32Arrays in, a preallocated output
// Float32Array written in place. Every size is recomputed here from the geometry and checked
// against the arrays, so no call can read or write out of bounds whatever the caller passes.
#include <cstdint>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <string>
#include <vector>

#include "napi/napi_util.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "nn/depthwise.h"
#include "nn/elementwise.h"
#include "nn/gemm.h"

namespace acr {
namespace {

using napi::View;
constexpr int64_t kMaxDim = int64_t(1) << 31;

// a*b, failing on overflow past 2^62 (no real tensor gets near it).
int64_t mul(Napi::Env env, int64_t a, int64_t b) {
  if (a != 0 && b > (int64_t(1) << 62) / a) napi::throw_error(env, "ERR_RANGE", "tensor size overflows");
  return a * b;
}

nn::ConvShape conv_shape(const Napi::CallbackInfo& info, size_t index, bool depthwise) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsArray())
    napi::throw_error(env, "ERR_ARG", "geometry: expected an array of 15 integers");
  Napi::Array a = info[index].As<Napi::Array>();
  if (a.Length() != 15) napi::throw_error(env, "ERR_ARG", "geometry: expected 15 integers, got " + std::to_string(a.Length()));
  static const char* names[15] = {"N", "H", "W", "C", "OH", "OW", "OC", "KH", "KW", "sh", "sw", "dh", "dw", "pt", "pl"};
  int64_t v[15];
  for (uint32_t i = 0; i < 15; ++i) {
    Napi::Value e = a.Get(i);
    const double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -1e300;
    const int64_t lo = i < 7 ? 0 : (i < 13 ? 1 : -kMaxDim);
    if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(kMaxDim)) || d != static_cast<double>(static_cast<int64_t>(d)))
      napi::throw_error(env, "ERR_RANGE", std::string("geometry.") + names[i] + ": expected an integer >= " + std::to_string(lo));
    v[i] = static_cast<int64_t>(d);
  }
  nn::ConvShape s{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  if (depthwise && (s.C == 0 ? s.OC != 0 : s.OC % s.C != 0))
    napi::throw_error(env, "ERR_SHAPE", "geometry: depthwise output channels must be a multiple of the input channels");
  // Checked sizes (the struct's helpers multiply without checks).
  mul(env, mul(env, mul(env, s.N, s.H), s.W), s.C);
  mul(env, mul(env, mul(env, s.N, s.OH), s.OW), s.OC);
  mul(env, mul(env, mul(env, s.KH, s.KW), s.C), s.OC);
  return s;
}

nn::Epilogue epilogue(const Napi::CallbackInfo& info, size_t bias_i, size_t act_i, size_t alpha_i, int64_t channels) {
  nn::Epilogue ep;
  View<float> bias = napi::optional_typed_array<float>(info, bias_i, "bias");
  if (bias.data || bias.length) {
    napi::require_length(info.Env(), bias, static_cast<size_t>(channels), "bias");
    ep.bias = bias.data;
  }
  ep.act = static_cast<nn::Act>(napi::integer(info, act_i, "activation", 0, 5));
  ep.alpha = static_cast<float>(napi::number(info, alpha_i, "alpha"));
  return ep;
}

// conv2d(x, filter, bias|null, y, geometry, activation, alpha)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const nn::ConvShape s = conv_shape(info, 4, false);
  const View<float> x = napi::sized_array<float>(info, 0, "x", s.x_size());
  const View<float> f = napi::sized_array<float>(info, 1, "filter", s.filter_size());
  const View<float> y = napi::sized_array<float>(info, 3, "y", s.y_size());
  const nn::Epilogue ep = epilogue(info, 2, 5, 6, s.OC);
  nn::conv2d_forward(s, x.data, f.data, y.data, ep);
  return env.Undefined();
}

// conv2dBackpropInput(dy, filter, dx, geometry)
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const nn::ConvShape s = conv_shape(info, 3, false);
  const View<float> dy = napi::sized_array<float>(info, 0, "dy", s.y_size());
  const View<float> f = napi::sized_array<float>(info, 1, "filter", s.filter_size());
  const View<float> dx = napi::sized_array<float>(info, 2, "dx", s.x_size());
  nn::conv2d_backprop_input(s, dy.data, f.data, dx.data);
  return env.Undefined();
}

// conv2dBackpropFilter(x, dy, df, geometry)
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const nn::ConvShape s = conv_shape(info, 3, false);
  const View<float> x = napi::sized_array<float>(info, 0, "x", s.x_size());
  const View<float> dy = napi::sized_array<float>(info, 1, "dy", s.y_size());
  const View<float> df = napi::sized_array<float>(info, 2, "df", s.filter_size());
  nn::conv2d_backprop_filter(s, x.data, dy.data, df.data);
  return env.Undefined();
}

// depthwise(x, filter, bias|null, y, geometry, activation, alpha)
Napi::Value Depthwise(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const nn::ConvShape s = conv_shape(info, 4, true);
  const View<float> x = napi::sized_array<float>(info, 0, "x", s.x_size());
  const View<float> f = napi::sized_array<float>(info, 1, "filter", s.depthwise_filter_size());
  const View<float> y = napi::sized_array<float>(info, 3, "y", s.y_size());
  const nn::Epilogue ep = epilogue(info, 2, 5, 6, s.OC);
  nn::depthwise_forward(s, x.data, f.data, y.data, ep);
  return env.Undefined();
}

Napi::Value DepthwiseBackpropInput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const nn::ConvShape s = conv_shape(info, 3, true);
  const View<float> dy = napi::sized_array<float>(info, 0, "dy", s.y_size());
  const View<float> f = napi::sized_array<float>(info, 1, "filter", s.depthwise_filter_size());
  const View<float> dx = napi::sized_array<float>(info, 2, "dx", s.x_size());
  nn::depthwise_backprop_input(s, dy.data, f.data, dx.data);
  return env.Undefined();
}

Napi::Value DepthwiseBackpropFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const nn::ConvShape s = conv_shape(info, 3, true);
  const View<float> x = napi::sized_array<float>(info, 0, "x", s.x_size());
  const View<float> dy = napi::sized_array<float>(info, 1, "dy", s.y_size());
  const View<float> df = napi::sized_array<float>(info, 2, "df", s.depthwise_filter_size());
  nn::depthwise_backprop_filter(s, x.data, dy.data, df.data);
  return env.Undefined();
}

// matMul(a, b, bias|null, c, [batchA, batchB, M, N, K], transA, transB, activation, alpha):
// c[i] = act(op(a[i or 0]) * op(b[i or 0]) + bias), batch = max(batchA, batchB), each 1 or batch.
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[4].IsArray()) napi::throw_error(env, "ERR_ARG", "dims: expected [batchA, batchB, M, N, K]");
  Napi::Array da = info[4].As<Napi::Array>();
  if (da.Length() != 5) napi::throw_error(env, "ERR_ARG", "dims: expected 5 integers");
  int64_t d[5];
  for (uint32_t i = 0; i < 5; ++i) {
    Napi::Value e = da.Get(i);
    const double v = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -1;
    if (!(v >= 0 && v <= static_cast<double>(kMaxDim)) || v != static_cast<double>(static_cast<int64_t>(v)))
      napi::throw_error(env, "ERR_RANGE", "dims: expected non-negative integers");
    d[i] = static_cast<int64_t>(v);
  }
  const int64_t ba = d[0], bb = d[1], M = d[2], N = d[3], K = d[4];
  const int64_t batch = ba > bb ? ba : bb;
  if ((ba != 1 && ba != batch) || (bb != 1 && bb != batch)) napi::throw_error(env, "ERR_SHAPE", "dims: batch sizes must be equal or 1");
  const bool ta = info[5].ToBoolean(), tb = info[6].ToBoolean();
  View<float> a = napi::typed_array<float>(info, 0, "a"), b = napi::typed_array<float>(info, 1, "b");
  View<float> c = napi::typed_array<float>(info, 3, "c");
  const int64_t sa = mul(env, M, K), sb = mul(env, K, N), sc = mul(env, M, N);
  napi::require_length(env, a, mul(env, ba, sa), "a");
  napi::require_length(env, b, mul(env, bb, sb), "b");
  napi::require_length(env, c, mul(env, batch, sc), "c");
  const nn::Epilogue ep = epilogue(info, 2, 7, 8, N);
  for (int64_t i = 0; i < batch; ++i)
    nn::sgemm(ta, tb, M, N, K, a.data + (ba == 1 ? 0 : i * sa), ta ? M : K, b.data + (bb == 1 ? 0 : i * sb), tb ? K : N,
              c.data + i * sc, N, false, ep);
  return env.Undefined();
}

// batchNormTrain(x, gamma|null, beta|null, y, mean, variance, channels, epsilon[, cap])
// cap >= 0 fuses a capped ReLU into y; absent or negative: none.
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t C = napi::integer(info, 6, "channels", 1, kMaxDim);
  const float eps = static_cast<float>(napi::number(info, 7, "epsilon"));
  View<float> x = napi::typed_array<float>(info, 0, "x"), y = napi::typed_array<float>(info, 3, "y");
  View<float> gamma = napi::optional_typed_array<float>(info, 1, "gamma"), beta = napi::optional_typed_array<float>(info, 2, "beta");
  View<float> mean = napi::typed_array<float>(info, 4, "mean"), var = napi::typed_array<float>(info, 5, "variance");
  if (x.length % C != 0) napi::throw_error(env, "ERR_SHAPE", "x: length is not a multiple of channels");
  napi::require_length(env, y, x.length, "y");
  if (gamma.data) napi::require_length(env, gamma, C, "gamma");
  if (beta.data) napi::require_length(env, beta, C, "beta");
  napi::require_length(env, mean, C, "mean");
  napi::require_length(env, var, C, "variance");
  const float cap = info.Length() > 8 && !info[8].IsUndefined() ? static_cast<float>(napi::number(info, 8, "cap")) : -1.f;
  nn::batchnorm_train(static_cast<int64_t>(x.length) / C, C, x.data, gamma.data, beta.data, eps, y.data, mean.data, var.data,
                      cap);
  return env.Undefined();
}

// batchNormTrainGrad(dy, x, gamma|null, mean, variance, dx, dgamma, dbeta, channels, epsilon[, beta|null, cap])
// cap >= 0: the gradient of batchNormTrain with that cap (beta as given to the forward).
Napi::Value BatchNormTrainGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t C = napi::integer(info, 8, "channels", 1, kMaxDim);
  const float eps = static_cast<float>(napi::number(info, 9, "epsilon"));
  View<float> dy = napi::typed_array<float>(info, 0, "dy"), x = napi::typed_array<float>(info, 1, "x");
  View<float> gamma = napi::optional_typed_array<float>(info, 2, "gamma");
  View<float> mean = napi::typed_array<float>(info, 3, "mean"), var = napi::typed_array<float>(info, 4, "variance");
  View<float> dx = napi::typed_array<float>(info, 5, "dx"), dgamma = napi::typed_array<float>(info, 6, "dgamma");
  View<float> dbeta = napi::typed_array<float>(info, 7, "dbeta");
  if (x.length % C != 0) napi::throw_error(env, "ERR_SHAPE", "x: length is not a multiple of channels");
  napi::require_length(env, dy, x.length, "dy");
  napi::require_length(env, dx, x.length, "dx");
  if (gamma.data) napi::require_length(env, gamma, C, "gamma");
  napi::require_length(env, mean, C, "mean");
  napi::require_length(env, var, C, "variance");
  napi::require_length(env, dgamma, C, "dgamma");
  napi::require_length(env, dbeta, C, "dbeta");
  const float cap = info.Length() > 11 && !info[11].IsUndefined() ? static_cast<float>(napi::number(info, 11, "cap")) : -1.f;
  View<float> beta;
  if (cap >= 0.f) {
    beta = napi::optional_typed_array<float>(info, 10, "beta");
    if (beta.data) napi::require_length(env, beta, C, "beta");
  }
  nn::batchnorm_train_grad(static_cast<int64_t>(x.length) / C, C, dy.data, x.data, gamma.data, mean.data, var.data, eps,
                           dx.data, dgamma.data, dbeta.data, beta.data, cap);
  return env.Undefined();
}

// reluCap(x, y, cap) and reluCapGrad(dy, x, dx, cap)
Napi::Value ReluCap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  View<float> x = napi::typed_array<float>(info, 0, "x"), y = napi::typed_array<float>(info, 1, "y");
  napi::require_length(env, y, x.length, "y");
  nn::relu_cap(static_cast<int64_t>(x.length), x.data, static_cast<float>(napi::number(info, 2, "cap")), y.data);
  return env.Undefined();
}

Napi::Value ReluCapGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  View<float> dy = napi::typed_array<float>(info, 0, "dy"), x = napi::typed_array<float>(info, 1, "x");
  View<float> dx = napi::typed_array<float>(info, 2, "dx");
  napi::require_length(env, x, dy.length, "x");
  napi::require_length(env, dx, dy.length, "dx");
  nn::relu_cap_grad(static_cast<int64_t>(dy.length), dy.data, x.data, static_cast<float>(napi::number(info, 3, "cap")), dx.data);
  return env.Undefined();
}

std::vector<int64_t> shape_arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (index >= info.Length() || !info[index].IsArray())
    napi::throw_error(info.Env(), "ERR_ARG", std::string(name) + ": expected an array of dimensions");
  Napi::Array a = info[index].As<Napi::Array>();
  if (a.Length() > 8) napi::throw_error(info.Env(), "ERR_ARG", std::string(name) + ": at most 8 dimensions");
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    const double v = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -1;
    if (!(v >= 0 && v <= static_cast<double>(kMaxDim)) || v != static_cast<double>(static_cast<int64_t>(v)))
      napi::throw_error(info.Env(), "ERR_RANGE", std::string(name) + ": expected non-negative integer dimensions");
    out[i] = static_cast<int64_t>(v);
  }
  return out;
}

// binary(op, a, aShape, b, bShape, out, outShape): numpy broadcasting, shapes of equal rank.
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int op = static_cast<int>(napi::integer(info, 0, "op", 0, 3));
  View<float> a = napi::typed_array<float>(info, 1, "a"), b = napi::typed_array<float>(info, 3, "b");
  View<float> out = napi::typed_array<float>(info, 5, "out");
  const std::vector<int64_t> as = shape_arg(info, 2, "aShape"), bs = shape_arg(info, 4, "bShape"), os = shape_arg(info, 6, "outShape");
  if (as.size() != os.size() || bs.size() != os.size()) napi::throw_error(env, "ERR_SHAPE", "shapes: expected equal ranks");
  int64_t na = 1, nb = 1, no = 1;
  for (size_t d = 0; d < os.size(); ++d) {
    if ((as[d] != os[d] && as[d] != 1) || (bs[d] != os[d] && bs[d] != 1))
      napi::throw_error(env, "ERR_SHAPE", "shapes: inputs do not broadcast to the output shape");
    na = mul(env, na, as[d]), nb = mul(env, nb, bs[d]), no = mul(env, no, os[d]);
  }
  napi::require_length(env, a, na, "a");
  napi::require_length(env, b, nb, "b");
  napi::require_length(env, out, no, "out");
  nn::binary(static_cast<nn::BinaryOp>(op), static_cast<int>(os.size()), os.data(), a.data, as.data(), b.data, bs.data(), out.data);
  return env.Undefined();
}

// reduceSum(x, out, outer, mid, inner, scale): out[o, i] = scale * sum_m x[o, m, i].
Napi::Value ReduceSum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  View<float> x = napi::typed_array<float>(info, 0, "x"), out = napi::typed_array<float>(info, 1, "out");
  const int64_t outer = napi::integer(info, 2, "outer", 0, kMaxDim), mid = napi::integer(info, 3, "mid", 0, kMaxDim);
  const int64_t inner = napi::integer(info, 4, "inner", 0, kMaxDim);
  napi::require_length(env, x, mul(env, mul(env, outer, mid), inner), "x");
  napi::require_length(env, out, mul(env, outer, inner), "out");
  nn::reduce_sum(outer, mid, inner, x.data, static_cast<float>(napi::number(info, 5, "scale")), out.data);
  return env.Undefined();
}

// retainFreedMemory(): tells glibc malloc to serve every block from its heap and never give
// freed memory back to the OS. tfjs allocates a fresh output array per op; with the defaults,
// large ones are mmapped and unmapped each time, and every page is faulted in again (~11 us
// per 4 KB here). Returns false where the C library is not glibc.
Napi::Value RetainFreedMemory(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  const bool ok = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, 0x7fffffff) == 1;
  return Napi::Boolean::New(info.Env(), ok);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

// [b1, c1, b2, c2, d1, d2, eps, nlr] at info[i].
nn::AdamParams adam_params(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsArray()) napi::throw_error(env, "ERR_ARG", "coefficients: expected 8 numbers");
  Napi::Array c = info[i].As<Napi::Array>();
  if (c.Length() != 8) napi::throw_error(env, "ERR_ARG", "coefficients: expected 8 numbers");
  float k[8];
  for (uint32_t j = 0; j < 8; ++j) {
    Napi::Value e = c.Get(j);
    if (!e.IsNumber()) napi::throw_error(env, "ERR_ARG", "coefficients: expected 8 numbers");
    k[j] = static_cast<float>(e.As<Napi::Number>().DoubleValue());
  }
  return nn::AdamParams{k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]};
}

// adamUpdate(p, g, m, v, pOut, mOut, vOut, [b1, c1, b2, c2, d1, d2, eps, nlr])
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* names[7] = {"p", "g", "m", "v", "pOut", "mOut", "vOut"};
  View<float> a[7];
  for (int i = 0; i < 7; ++i) {
    a[i] = napi::typed_array<float>(info, i, names[i]);
    napi::require_length(env, a[i], a[0].length, names[i]);
  }
  const nn::AdamParams p = adam_params(info, 7);
  nn::adam_update(static_cast<int64_t>(a[0].length), a[0].data, a[1].data, a[2].data, a[3].data, p, a[4].data, a[5].data,
                  a[6].data);
  return env.Undefined();
}

// adamUpdateInPlace(p, g, m, v, coefficients): p, m and v updated in place; no two may overlap.
Napi::Value AdamUpdateInPlace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* names[4] = {"p", "g", "m", "v"};
  View<float> a[4];
  for (int i = 0; i < 4; ++i) {
    a[i] = napi::typed_array<float>(info, i, names[i]);
    napi::require_length(env, a[i], a[0].length, names[i]);
  }
  const size_t n = a[0].length;
  for (int i = 0; i < 4; ++i)
    for (int j = i + 1; j < 4; ++j)
      if (n > 0 && a[i].data < a[j].data + n && a[j].data < a[i].data + n)
        napi::throw_error(env, "ERR_ARG", "p, g, m and v must not overlap");
  const nn::AdamParams p = adam_params(info, 4);
  nn::adam_update_inplace(static_cast<int64_t>(n), a[0].data, a[1].data, a[2].data, a[3].data, p);
  return env.Undefined();
}

Napi::Value GemmForceAvx512Kernel(const Napi::CallbackInfo& info) {
  nn::gemm_force_avx512_kernel(static_cast<int>(napi::integer(info, 0, "choice", 0, 2)));
  return Napi::String::New(info.Env(), nn::gemm_kernel_name());
}

Napi::Value GemmKernel(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), nn::gemm_kernel_name()); }

}  // namespace

void register_nn(Napi::Env env, Napi::Object exports) {
  exports.Set("nnConv2d", Napi::Function::New(env, Conv2d));
  exports.Set("nnConv2dBackpropInput", Napi::Function::New(env, Conv2dBackpropInput));
  exports.Set("nnConv2dBackpropFilter", Napi::Function::New(env, Conv2dBackpropFilter));
  exports.Set("nnDepthwise", Napi::Function::New(env, Depthwise));
  exports.Set("nnDepthwiseBackpropInput", Napi::Function::New(env, DepthwiseBackpropInput));
  exports.Set("nnDepthwiseBackpropFilter", Napi::Function::New(env, DepthwiseBackpropFilter));
  exports.Set("nnMatMul", Napi::Function::New(env, MatMul));
  exports.Set("nnBatchNormTrain", Napi::Function::New(env, BatchNormTrain));
  exports.Set("nnBatchNormTrainGrad", Napi::Function::New(env, BatchNormTrainGrad));
  exports.Set("nnReluCap", Napi::Function::New(env, ReluCap));
  exports.Set("nnReluCapGrad", Napi::Function::New(env, ReluCapGrad));
  exports.Set("nnBinary", Napi::Function::New(env, Binary));
  exports.Set("nnReduceSum", Napi::Function::New(env, ReduceSum));
  exports.Set("nnRetainFreedMemory", Napi::Function::New(env, RetainFreedMemory));
  exports.Set("nnAdamUpdate", Napi::Function::New(env, AdamUpdate));
  exports.Set("nnAdamUpdateInPlace", Napi::Function::New(env, AdamUpdateInPlace));
  exports.Set("nnGemmForceAvx512Kernel", Napi::Function::New(env, GemmForceAvx512Kernel));
  exports.Set("nnGemmKernel", Napi::Function::New(env, GemmKernel));
}

}  // namespace acr
