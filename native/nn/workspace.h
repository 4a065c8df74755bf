// Reusable scratch memory. Touching fresh pages costs ~11 us each on these VMs and glibc
// returns big blocks to the OS on free, so kernels never malloc large buffers per call:
// each thread keeps a few growable, 64-byte aligned slots that only ever grow.
#pragma once

#include <cstddef>

namespace acr {
namespace nn {

enum class Slot { PackA = 0, PackB = 1, Partial = 2, Tile = 3, Edge = 4, Col = 5, Count = 6 };

// A buffer of at least n floats owned by the calling thread, valid until the next call with
// the same slot on the same thread. Contents are unspecified.
float* scratch(Slot slot, size_t n);

}  // namespace nn
}  // namespace acr
