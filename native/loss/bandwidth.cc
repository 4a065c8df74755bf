#include "loss/bandwidth.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/cpu_features.h"
#include "common/threadpool.h"
#include "loss/loss_impl.h"

namespace acr {
namespace loss {
namespace {
constexpr int64_t kChunk = 1 << 16;  // floats per task
}

void copy_floats(const float* src, float* dst, int64_t n) {
  if (n <= 0) return;
  parallel_for(n, kChunk, [&](int64_t b, int64_t e) {
    std::memcpy(dst + b, src + b, static_cast<size_t>(e - b) * sizeof(float));
  });
}

double read_floats(const float* src, int64_t n) {
  if (n <= 0) return 0.0;
  const Isa isa = best_isa();
  auto fn = isa == Isa::Avx512 ? sum_block_avx512 : isa == Isa::Avx2 ? sum_block_avx2 : sum_block_scalar;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> parts(static_cast<size_t>(chunks));
  parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) parts[k] = fn(src + k * kChunk, std::min(kChunk, n - k * kChunk));
  });
  double s = 0;
  for (double p : parts) s += p;
  return s;
}

}  // namespace loss
}  // namespace acr
