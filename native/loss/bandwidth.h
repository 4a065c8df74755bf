// Memory-bandwidth probes for the benchmarks: the physical limit a streaming kernel such as
// the loss can reach on this machine, measured with the same thread pool.
#pragma once

#include <cstdint>

namespace acr {
namespace loss {

// dst[i] = src[i] for n floats (threaded memcpy). Moves 8 bytes per element (plus the
// write-allocate read of dst where the CPU does one).
void copy_floats(const float* src, float* dst, int64_t n);
// Reads n floats and returns their float64 sum (so the reads cannot be optimised away).
double read_floats(const float* src, int64_t n);

}  // namespace loss
}  // namespace acr
