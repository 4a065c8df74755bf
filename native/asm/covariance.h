// Mean and covariance of N shapes (rows of D coordinates), accumulated in float64.
#pragma once

#include <cstdint>

namespace acr {
namespace asmodel {

// x: n x d row-major. Writes mean[d] and cov[d*d] (row-major, exactly symmetric, divided by
// n - 1). Requires n >= 2 and d >= 1. Blocked and threaded over rows; each thread keeps its
// own float64 accumulator, so the result does not depend on the thread count beyond rounding.
template <typename T>
void mean_covariance(const T* x, int64_t n, int64_t d, double* mean, double* cov);

// Column sums of x in float64, then divided by n.
template <typename T>
void column_mean(const T* x, int64_t n, int64_t d, double* mean);

}  // namespace asmodel
}  // namespace acr
