#include "nn/elementwise.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/threadpool.h"
#include "nn/workspace.h"

namespace acr {
namespace nn {
namespace {

template <BinaryOp OP>
inline float apply(float x, float y) {
  if constexpr (OP == BinaryOp::Add) return x + y;
  else if constexpr (OP == BinaryOp::Sub) return x - y;
  else if constexpr (OP == BinaryOp::Mul) return x * y;
  else return x / y;
}

// One contiguous run of n outputs; sa/sb are 0 (broadcast) or 1.
template <BinaryOp OP>
void run(int64_t n, const float* __restrict a, int64_t sa, const float* __restrict b, int64_t sb, float* __restrict o) {
  if (sa && sb) {
    for (int64_t i = 0; i < n; ++i) o[i] = apply<OP>(a[i], b[i]);
  } else if (sa) {
    const float y = b[0];
    for (int64_t i = 0; i < n; ++i) o[i] = apply<OP>(a[i], y);
  } else if (sb) {
    const float x = a[0];
    for (int64_t i = 0; i < n; ++i) o[i] = apply<OP>(x, b[i]);
  } else {
    const float v = apply<OP>(a[0], b[0]);
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  }
}

template <BinaryOp OP>
void binary_impl(int rank, const int64_t* out_shape, const float* a, const int64_t* a_shape, const float* b,
                 const int64_t* b_shape, float* out) {
  // Merge adjacent dims with the same broadcast pattern; drop size-1 dims.
  std::vector<int64_t> dims, abc, bbc;  // extent, a broadcast?, b broadcast?
  for (int d = 0; d < rank; ++d) {
    if (out_shape[d] == 1) continue;
    const int64_t ab = a_shape[d] == 1, bb = b_shape[d] == 1;
    if (!dims.empty() && abc.back() == ab && bbc.back() == bb) {
      dims.back() *= out_shape[d];
    } else {
      dims.push_back(out_shape[d]);
      abc.push_back(ab);
      bbc.push_back(bb);
    }
  }
  if (dims.empty()) {  // every dim is 1: one element
    out[0] = apply<OP>(a[0], b[0]);
    return;
  }
  const int r = static_cast<int>(dims.size());
  std::vector<int64_t> as(r), bs(r);  // element strides of a and b per merged dim (0 when broadcast)
  int64_t sa = 1, sb = 1;
  for (int d = r - 1; d >= 0; --d) {
    as[d] = abc[d] ? 0 : sa;
    bs[d] = bbc[d] ? 0 : sb;
    if (!abc[d]) sa *= dims[d];
    if (!bbc[d]) sb *= dims[d];
  }
  const int64_t inner = dims[r - 1];
  int64_t rows = 1;
  for (int d = 0; d < r - 1; ++d) rows *= dims[d];
  if (rows == 1) {  // one long run: split it
    parallel_for(inner, 32768, [&](int64_t b0, int64_t e0) {
      run<OP>(e0 - b0, a + as[0] * b0, as[0], b + bs[0] * b0, bs[0], out + b0);
    });
    return;
  }
  parallel_for(rows, std::max<int64_t>(1, 32768 / inner), [&](int64_t b0, int64_t e0) {
    for (int64_t row = b0; row < e0; ++row) {
      int64_t rem = row, ao = 0, bo = 0;
      for (int d = r - 2; d >= 0; --d) {
        const int64_t i = rem % dims[d];
        rem /= dims[d];
        ao += i * as[d];
        bo += i * bs[d];
      }
      run<OP>(inner, a + ao, as[r - 1], b + bo, bs[r - 1], out + row * inner);
    }
  });
}

}  // namespace

void binary(BinaryOp op, int rank, const int64_t* out_shape, const float* a, const int64_t* a_shape, const float* b,
            const int64_t* b_shape, float* out) {
  for (int d = 0; d < rank; ++d)
    if (out_shape[d] == 0) return;
  switch (op) {
    case BinaryOp::Add: return binary_impl<BinaryOp::Add>(rank, out_shape, a, a_shape, b, b_shape, out);
    case BinaryOp::Sub: return binary_impl<BinaryOp::Sub>(rank, out_shape, a, a_shape, b, b_shape, out);
    case BinaryOp::Mul: return binary_impl<BinaryOp::Mul>(rank, out_shape, a, a_shape, b, b_shape, out);
    case BinaryOp::Div: return binary_impl<BinaryOp::Div>(rank, out_shape, a, a_shape, b, b_shape, out);
  }
}

void reduce_sum(int64_t outer, int64_t mid, int64_t inner, const float* x, float scale, float* out) {
  if (outer * inner == 0) return;
  if (inner == 1) {  // contiguous dot-like sums
    parallel_for(outer, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, mid)), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const float* __restrict p = x + o * mid;
        float acc[8] = {};
        int64_t m = 0;
        for (; m + 8 <= mid; m += 8)
          for (int j = 0; j < 8; ++j) acc[j] += p[m + j];
        float s = 0.f;
        for (; m < mid; ++m) s += p[m];
        for (int j = 0; j < 8; ++j) s += acc[j];
        out[o] = s * scale;
      }
    });
    return;
  }
  const int64_t threads = num_threads();
  if (outer >= threads || mid * inner < 65536) {
    parallel_for(outer, 1, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        float* __restrict d = out + o * inner;
        std::fill(d, d + inner, 0.f);
        for (int64_t m = 0; m < mid; ++m) {
          const float* __restrict p = x + (o * mid + m) * inner;
          for (int64_t i = 0; i < inner; ++i) d[i] += p[i];
        }
        for (int64_t i = 0; i < inner; ++i) d[i] *= scale;
      }
    });
    return;
  }
  // Few outputs, long reduction: each part sums a range of mid into its own buffer.
  const int64_t parts = std::min<int64_t>(threads * 2, mid);
  float* partial = scratch(Slot::Partial, static_cast<size_t>(parts * outer * inner));
  parallel_for(parts, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      float* __restrict acc = partial + t * outer * inner;
      std::fill(acc, acc + outer * inner, 0.f);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t m = mid * t / parts; m < mid * (t + 1) / parts; ++m) {
          const float* __restrict p = x + (o * mid + m) * inner;
          float* __restrict d = acc + o * inner;
          for (int64_t i = 0; i < inner; ++i) d[i] += p[i];
        }
    }
  });
  for (int64_t j = 0; j < outer * inner; ++j) {
    float s = 0.f;
    for (int64_t t = 0; t < parts; ++t) s += partial[t * outer * inner + j];
    out[j] = s * scale;
  }
}

namespace {

// One element of tfjs' Adam, in its float32 operation order. Each loop keeps its own copy (a
// local whose fields no store can alias), so the loops vectorise: they ran scalar, three
// divisions and a square root per element, while the coefficients were read through a pointer.
struct AdamStep {
  AdamParams k;
  inline void operator()(float g, float m, float v, float p, float& nm, float& nv, float& np) const {
    nm = m * k.b1 + g * k.c1;
    nv = v * k.b2 + (g * g) * k.c2;
    np = (nm / k.d1) / (std::sqrt(nv / k.d2) + k.eps) * k.nlr + p;
  }
};

}  // namespace

void adam_update(int64_t n, const float* p, const float* g, const float* m, const float* v, const AdamParams& a,
                 float* p_out, float* m_out, float* v_out) {
  parallel_for(n, 16384, [&](int64_t b, int64_t e) {
    const AdamStep step{a};
    const float* __restrict ps = p;
    const float* __restrict gs = g;
    const float* __restrict ms = m;
    const float* __restrict vs = v;
    float* __restrict po = p_out;
    float* __restrict mo = m_out;
    float* __restrict vo = v_out;
    for (int64_t i = b; i < e; ++i) step(gs[i], ms[i], vs[i], ps[i], mo[i], vo[i], po[i]);
  });
}

void adam_update_inplace(int64_t n, float* p, const float* g, float* m, float* v, const AdamParams& a) {
  parallel_for(n, 16384, [&](int64_t b, int64_t e) {
    const AdamStep step{a};
    float* __restrict ps = p;
    const float* __restrict gs = g;
    float* __restrict ms = m;
    float* __restrict vs = v;
    for (int64_t i = b; i < e; ++i) step(gs[i], ms[i], vs[i], ps[i], ms[i], vs[i], ps[i]);
  });
}

}  // namespace nn
}  // namespace acr
