#include "asm/smooth.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "asm/project.h"
#include "asm/scratch.h"
#include "common/cpu_features.h"
#include "common/threadpool.h"

namespace acr {
namespace asmodel {
namespace {

using ProjectFn = void (*)(const PaddedBasis&, const double*, double*, double*);

ProjectFn pick_project() {
#if defined(__x86_64__) || defined(_M_X64)
  switch (best_isa()) {
    case Isa::Avx512: return project_block_avx512;
    case Isa::Avx2: return project_block_avx2;
    default: break;
  }
#endif
  return project_block_scalar;
}

}  // namespace

template <typename T>
void for_each_smooth(const T* x, int64_t n, const Basis& m, const std::function<void(int64_t, const double*)>& visit) {
  const int64_t d = m.d, k = m.k;
  const int64_t ld = (d + kProjectPad - 1) / kProjectPad * kProjectPad;
  // Padded copy of the basis: zeros past d let the kernels run whole vectors.
  std::vector<double> padded(static_cast<size_t>(ld * (k + 1) + k), 0.0);
  double* mean = padded.data();
  double* comps = mean + ld;
  double* limits = comps + k * ld;
  std::copy(m.mean, m.mean + d, mean);
  for (int64_t i = 0; i < k; ++i) {
    std::copy(m.components + i * d, m.components + (i + 1) * d, comps + i * ld);
    limits[i] = 3.0 * std::sqrt(std::max(m.eigenvalues[i], 0.0));
  }
  const PaddedBasis basis{mean, comps, limits, ld, k};
  const ProjectFn project = pick_project();
  const int64_t blocks = (n + kProjectRows - 1) / kProjectRows;
  // ~256k multiply-adds per task before a thread is worth waking.
  const int64_t grain = std::max<int64_t>(1, 262144 / std::max<int64_t>(1, 2 * kProjectRows * (k + 1) * ld));
  parallel_for(blocks, grain, [&](int64_t bb, int64_t be) {
    Scratch work(kScratchProject, static_cast<size_t>(kProjectRows * (2 * ld + k)));
    double* c = work.data();
    double* recon = c + kProjectRows * ld;
    double* coeff = recon + kProjectRows * ld;
    std::fill(c, c + kProjectRows * ld, 0.0);  // padding columns and missing rows stay 0
    for (int64_t blk = bb; blk < be; ++blk) {
      const int64_t r0 = blk * kProjectRows, rows = std::min(kProjectRows, n - r0);
      for (int64_t r = 0; r < rows; ++r) {
        const T* s = x + (r0 + r) * d;
        double* cr = c + r * ld;
        for (int64_t j = 0; j < d; ++j) cr[j] = static_cast<double>(s[j]) - mean[j];
      }
      if (rows < kProjectRows) std::fill(c + rows * ld, c + kProjectRows * ld, 0.0);
      project(basis, c, coeff, recon);
      for (int64_t r = 0; r < rows; ++r) visit(r0 + r, recon + r * ld);
    }
  });
}

template <typename T>
void smooth(const T* x, int64_t n, const Basis& m, T* out) {
  const int64_t d = m.d;
  for_each_smooth(x, n, m, [&](int64_t r, const double* recon) {
    T* o = out + r * d;
    for (int64_t j = 0; j < d; ++j) o[j] = static_cast<T>(recon[j]);
  });
}

template void for_each_smooth<float>(const float*, int64_t, const Basis&, const std::function<void(int64_t, const double*)>&);
template void for_each_smooth<double>(const double*, int64_t, const Basis&, const std::function<void(int64_t, const double*)>&);
template void smooth<float>(const float*, int64_t, const Basis&, float*);
template void smooth<double>(const double*, int64_t, const Basis&, double*);

}  // namespace asmodel
}  // namespace acr
