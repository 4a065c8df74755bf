// The Smooth-Face projection of a block of shapes, one build per instruction set: the component
// rows are read once per block of kProjectRows shapes instead of once per shape.
#pragma once

#include <cstdint>

namespace acr {
namespace asmodel {

constexpr int64_t kProjectRows = 8;
constexpr int64_t kProjectPad = 8;  // ld is a multiple of this (the widest vector)

// The first k components, padded for the kernels: rows of ld doubles with zeros past d.
struct PaddedBasis {
  const double* mean;        // ld
  const double* components;  // k x ld
  const double* limits;      // k: 3 sqrt(max(lambda_i, 0))
  int64_t ld;
  int64_t k;
};

// c: kProjectRows x ld centred shapes (s - mean; zero rows and padding allowed). Writes the
// Smooth-Face of each row to recon (kProjectRows x ld); coeff (kProjectRows x k) is scratch.
void project_block_scalar(const PaddedBasis& b, const double* c, double* coeff, double* recon);
void project_block_avx2(const PaddedBasis& b, const double* c, double* coeff, double* recon);
void project_block_avx512(const PaddedBasis& b, const double* c, double* coeff, double* recon);

}  // namespace asmodel
}  // namespace acr
