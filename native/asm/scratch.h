// Per-thread scratch memory that keeps its pages between calls: a fresh 4 KB page costs about
// 11 us on these machines, more than the arithmetic of a small eigendecomposition.
#pragma once

#include <cstddef>
#include <vector>

namespace acr {
namespace asmodel {

// Slots: one owner each, so that nested borrowers never share a buffer.
constexpr int kScratchEigenMatrix = 0;
constexpr int kScratchEigenVectors = 1;
constexpr int kScratchEigenSmall = 2;
constexpr int kScratchCovAccumulators = 3;
constexpr int kScratchCovBlock = 4;
constexpr int kScratchProject = 5;

// Borrows one of a few per-thread buffers for the lifetime of the object. Contents are
// unspecified on entry. Buffers above kKeepBytes are released again, so a single huge call
// does not pin its memory for the life of the thread.
class Scratch {
 public:
  static constexpr int kSlots = 6;
  static constexpr size_t kKeepBytes = size_t(16) << 20;

  Scratch(int slot, size_t count) : buf_(buffers()[slot]) {
    if (buf_.size() < count) buf_.resize(count);
  }
  ~Scratch() {
    if (buf_.capacity() * sizeof(double) > kKeepBytes) std::vector<double>().swap(buf_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  double* data() { return buf_.data(); }

 private:
  static std::vector<double>* buffers() {
    thread_local std::vector<double> slots[kSlots];
    return slots;
  }
  std::vector<double>& buf_;
};

}  // namespace asmodel
}  // namespace acr
