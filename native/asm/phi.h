// The ACR difficulty weight Phi: how far each coordinate (or landmark) of a face lies from its
// Smooth-Face, normalised so that the face's largest deviation is 1.
#pragma once

#include <cstdint>

#include "asm/smooth.h"

namespace acr {
namespace asmodel {

enum class PhiMode {
  Coordinate,  // delta_j = |s_j - smooth_j|, one value per coordinate (the paper)
  Landmark,    // Euclidean distance per point (x, y pairs), written to both coordinates
};

// out[n x d] = Phi of each row of x[n x d], in [0, 1] with max 1 per face. A face whose largest
// deviation is at most `epsilon` times its coordinate scale (max |s_j|, max |mean_j|) lies on
// its Smooth-Face up to rounding: its Phi is all 0. Landmark mode needs an even d.
template <typename T>
void phi(const T* x, int64_t n, const Basis& m, PhiMode mode, double epsilon, T* out);

}  // namespace asmodel
}  // namespace acr
