// Single-precision GEMM: C[M,N] (+)= A[M,K] * B[K,N], row-major C, with a fused epilogue.
// Goto/BLIS structure: K is cut into KC blocks, B into NC panels packed once per block and
// shared by all threads, A into MC blocks packed per thread; a register-tiled micro-kernel
// (AVX-512 14x32, AVX2 6x16, scalar 4x8) chosen at run time by acr::best_isa() does the math.
// Operands are read through PackSource, so convolutions feed im2col rows straight into the
// packing step (implicit GEMM) instead of materialising the im2col matrix.
#pragma once

#include <cstdint>

namespace acr {
namespace nn {

enum class Act : int { Linear = 0, Relu = 1, Relu6 = 2, LeakyRelu = 3, Elu = 4, Sigmoid = 5 };

// Applied to each finished element: act(c + bias[n]). bias may be null.
struct Epilogue {
  const float* bias = nullptr;
  Act act = Act::Linear;
  float alpha = 0.2f;  // leaky-relu slope
  // Nothing to apply: no bias, linear.
  bool trivial() const { return bias == nullptr && act == Act::Linear; }
};

// A logical matrix read as rows x depth (A: M x K; B is read transposed: N x K). pack() writes
// rows [i0, i0+ni) x depth [k0, k0+nk) as ceil(ni/w) panels of w rows, each depth-major:
// dst[(p*nk + k)*w + r] = X(i0 + p*w + r, k0 + k), zero where the row is past ni.
class PackSource {
 public:
  virtual ~PackSource() = default;
  virtual void pack(int64_t i0, int64_t ni, int64_t k0, int64_t nk, int w, float* dst) const = 0;
  // When X is a plain strided matrix with one unit stride (X(i, k) = p[i*si + k*sk], si or sk
  // equal to 1), its pointer and strides, so the micro-kernel can read A in place; else null.
  virtual const float* strided(int64_t* si, int64_t* sk) const { return nullptr; }
};

// X(i, k) = p[i*rs + k*cs].
class StridedSource final : public PackSource {
 public:
  StridedSource(const float* p, int64_t rs, int64_t cs) : p_(p), rs_(rs), cs_(cs) {}
  void pack(int64_t i0, int64_t ni, int64_t k0, int64_t nk, int w, float* dst) const override;
  const float* strided(int64_t* si, int64_t* sk) const override {
    *si = rs_;
    *sk = cs_;
    return rs_ == 1 || cs_ == 1 ? p_ : nullptr;
  }

 private:
  const float* p_;
  int64_t rs_, cs_;
};

// C = A * Bt^T (+ C when accumulate), then the epilogue. Runs on the addon's thread pool.
void gemm(int64_t M, int64_t N, int64_t K, const PackSource& A, const PackSource& Bt, float* C, int64_t ldc,
          bool accumulate, const Epilogue& ep = Epilogue());

// BLAS-style entry: op(A) is M x K (A stored K x M when transA), op(B) is K x N (stored N x K when transB).
void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
           int64_t ldb, float* C, int64_t ldc, bool accumulate, const Epilogue& ep = Epilogue());

// Applies the epilogue to a rows x cols block of C whose first column is global column n0.
void apply_epilogue(float* C, int64_t ldc, int64_t rows, int64_t cols, int64_t n0, const Epilogue& ep);

// At the AVX-512 level the faster of the AVX-512 and AVX2 kernels is measured once and used;
// this overrides it (0 measured, 1 AVX-512, 2 AVX2), for tests and benchmarks.
void gemm_force_avx512_kernel(int choice);

// Name of the micro-kernel in force ("avx512-14x32", ...), for info and benchmarks.
const char* gemm_kernel_name();

}  // namespace nn
}  // namespace acr
