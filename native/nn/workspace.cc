#include "nn/workspace.h"

#include <algorithm>
#include <cstdlib>
#include <new>

#include "common/threadpool.h"

namespace acr {
namespace nn {
namespace {

struct Buffer {
  float* data = nullptr;
  size_t capacity = 0;
  ~Buffer() { std::free(data); }
};

}  // namespace

float* scratch(Slot slot, size_t n) {
  thread_local Buffer slots[static_cast<int>(Slot::Count)];
  Buffer& b = slots[static_cast<int>(slot)];
  if (n > b.capacity) {
    // Grow geometrically so that a slowly rising size does not reallocate every call.
    size_t cap = b.capacity ? b.capacity : 1024;
    while (cap < n) cap *= 2;
    void* p = std::aligned_alloc(64, ((cap * sizeof(float) + 63) / 64) * 64);
    if (!p) throw std::bad_alloc();
    std::free(b.data);
    b.data = static_cast<float*>(p);
    b.capacity = cap;
  }
  return b.data;
}

void add_parts(const float* partial, int64_t parts, int64_t rows, int64_t cols, float* out, int64_t ldo, bool accumulate) {
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, cols)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float* __restrict o = out + i * ldo;
      if (!accumulate) std::fill(o, o + cols, 0.f);
      for (int64_t t = 0; t < parts; ++t) {
        const float* __restrict p = partial + (t * rows + i) * cols;
        for (int64_t j = 0; j < cols; ++j) o[j] += p[j];
      }
    }
  });
}

}  // namespace nn
}  // namespace acr
