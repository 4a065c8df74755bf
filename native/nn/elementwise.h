// Broadcasting element-wise arithmetic and contiguous-axis reductions: the small kernels tfjs
// runs hundreds of times per training step (optimizer updates, residual adds, gradient sums,
// global average pooling), where its generic cpu kernels spend ~25 ns per element.
#pragma once

#include <cstdint>

namespace acr {
namespace nn {

enum class BinaryOp : int { Add = 0, Sub = 1, Mul = 2, Div = 3 };

// out = a op b with numpy broadcasting. Shapes have `rank` dims each, right-aligned and padded
// with 1 by the caller; out_shape[d] = max(a_shape[d], b_shape[d]) and each input's dim is
// either equal to it or 1.
void binary(BinaryOp op, int rank, const int64_t* out_shape, const float* a, const int64_t* a_shape, const float* b,
            const int64_t* b_shape, float* out);

// x viewed as [outer, mid, inner]: out[o, i] = scale * sum_m x[o, m, i].
void reduce_sum(int64_t outer, int64_t mid, int64_t inner, const float* x, float scale, float* out);

// One Adam step for n parameters, in the exact float32 operation order of tfjs' AdamOptimizer:
// m' = m*b1 + g*c1; v' = v*b2 + g*g*c2; p' = (m'/d1) / (sqrt(v'/d2) + eps) * nlr + p, with
// c = 1 - b, d = 1 - b^t and nlr = -learning rate (all rounded to float32 by the caller).
struct AdamParams {
  float b1, c1, b2, c2, d1, d2, eps, nlr;
};
// The outputs must not overlap the inputs.
void adam_update(int64_t n, const float* p, const float* g, const float* m, const float* v, const AdamParams& a,
                 float* p_out, float* m_out, float* v_out);
// The same step, p, m and v updated in place (four distinct arrays).
void adam_update_inplace(int64_t n, float* p, const float* g, float* m, float* v, const AdamParams& a);

}  // namespace nn
}  // namespace acr
