// Reusable scratch memory. Touching fresh pages costs ~11 us each on these VMs and glibc
// returns big blocks to the OS on free, so kernels never malloc large buffers per call:
// each thread keeps a few growable, 64-byte aligned slots that only ever grow.
#pragma once

#include <cstddef>
#include <cstdint>

namespace acr {
namespace nn {

enum class Slot { PackA = 0, PackB = 1, Partial = 2, Tile = 3, Edge = 4, Col = 5, Count = 6 };

// A buffer of at least n floats owned by the calling thread, valid until the next call with
// the same slot on the same thread. Contents are unspecified.
float* scratch(Slot slot, size_t n);

// The last step of a reduction split across threads (filter gradients: a long pixel depth, a
// small output): `parts` row-major rows x cols buffers, one after another in `partial`, each
// holding one part's sums. out[i*ldo + j] = (accumulate ? out[i*ldo + j] : 0) + part 0 + part 1
// + ..., added in that order, so the bits depend on the part count only. Rows in parallel.
void add_parts(const float* partial, int64_t parts, int64_t rows, int64_t cols, float* out, int64_t ldo, bool accumulate);

}  // namespace nn
}  // namespace acr
