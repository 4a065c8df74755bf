#include "nn/workspace.h"

#include <cstdlib>
#include <new>

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

}  // namespace nn
}  // namespace acr
