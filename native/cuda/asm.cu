// CUDA kernels of the ASM family (see asm_cuda.h). Inputs are copied to the device per call;
// the covariance accumulates in float64 with split-K atomics; each face of a projection is one
// block with its vectors in shared memory.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "cuda/asm_cuda.h"
#include "cuda/cuda_api.h"

namespace acr {
namespace cuda {
namespace {

// Device memory that frees itself on every return path.
template <typename T>
struct DeviceBuffer {
  T* ptr = nullptr;
  ~DeviceBuffer() {
    if (ptr) cudaFree(ptr);
  }
  cudaError_t alloc(size_t count) { return cudaMalloc(reinterpret_cast<void**>(&ptr), std::max<size_t>(count, 1) * sizeof(T)); }
};

std::string failed(const char* what, cudaError_t err) {
  cudaGetLastError();  // clear a non-sticky error so that later calls start clean
  return std::string("CUDA ") + what + ": " + cudaGetErrorString(err);
}

#define ACR_CUDA_TRY(what, expr)                     \
  do {                                               \
    const cudaError_t err_ = (expr);                 \
    if (err_ != cudaSuccess) return failed(what, err_); \
  } while (0)

std::string ready() {
  if (device_count() <= 0) return "no CUDA device is available";
  ACR_CUDA_TRY("cudaSetDevice", cudaSetDevice(0));
  return "";
}

// ---- mean ------------------------------------------------------------------------------
// Block (32 columns x 8 row lanes); each block sums a chunk of rows, then one atomic per column.
template <typename T>
__global__ void column_sums(const T* x, int64_t n, int64_t d, int64_t rows_per_block, double* sums) {
  __shared__ double part[8][33];
  const int64_t col = blockIdx.x * 32 + threadIdx.x;
  const int64_t r0 = blockIdx.y * rows_per_block;
  const int64_t r1 = r0 + rows_per_block < n ? r0 + rows_per_block : n;
  double s = 0;
  if (col < d)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += 8) s += static_cast<double>(x[r * d + col]);
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && col < d) {
    for (int i = 1; i < 8; ++i) s += part[i][threadIdx.x];
    atomicAdd(sums + col, s);
  }
}

// ---- covariance ------------------------------------------------------------------------
// 64 x 64 tiles of C (upper-triangle tiles only), 16 x 16 threads with 4 x 4 outputs each,
// 16 rows of centred data per step in shared memory; blockIdx.z splits the rows (split-K).
constexpr int kTile = 64, kStep = 16;

template <typename T>
__global__ void covariance_tiles(const T* x, const double* mean, int64_t n, int64_t d, int64_t rows_per_split,
                                 double* cov) {
  if (blockIdx.x < blockIdx.y) return;  // lower tiles: mirrored on the host
  __shared__ double a[kStep][kTile], b[kStep][kTile];
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * 16 + tx;
  const int64_t i0 = static_cast<int64_t>(blockIdx.y) * kTile, j0 = static_cast<int64_t>(blockIdx.x) * kTile;
  const int64_t r0 = blockIdx.z * rows_per_split;
  const int64_t r1 = r0 + rows_per_split < n ? r0 + rows_per_split : n;
  double acc[4][4] = {};
  for (int64_t rb = r0; rb < r1; rb += kStep) {
    // 256 threads load 16 rows x 64 columns of each panel (4 values each).
    for (int e = tid; e < kStep * kTile; e += 256) {
      const int rr = e / kTile, cc = e % kTile;
      const int64_t r = rb + rr;
      const int64_t ci = i0 + cc, cj = j0 + cc;
      a[rr][cc] = (r < r1 && ci < d) ? static_cast<double>(x[r * d + ci]) - mean[ci] : 0.0;
      b[rr][cc] = (r < r1 && cj < d) ? static_cast<double>(x[r * d + cj]) - mean[cj] : 0.0;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kStep; ++k) {
      double av[4], bv[4];
#pragma unroll
      for (int u = 0; u < 4; ++u) {
        av[u] = a[k][ty + 16 * u];
        bv[u] = b[k][tx + 16 * u];
      }
#pragma unroll
      for (int u = 0; u < 4; ++u)
#pragma unroll
        for (int w = 0; w < 4; ++w) acc[u][w] += av[u] * bv[w];
    }
    __syncthreads();
  }
#pragma unroll
  for (int u = 0; u < 4; ++u)
#pragma unroll
    for (int w = 0; w < 4; ++w) {
      const int64_t i = i0 + ty + 16 * u, j = j0 + tx + 16 * w;
      if (i < d && j < d && i <= j) atomicAdd(cov + i * d + j, acc[u][w]);
    }
}

template <typename T>
std::string mean_covariance_impl(const T* x, int64_t n, int64_t d, double* mean, double* cov) {
  if (std::string e = ready(); !e.empty()) return e;
  int sms = 0;
  ACR_CUDA_TRY("cudaDeviceGetAttribute", cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  DeviceBuffer<T> dx;
  DeviceBuffer<double> dmean, dcov;
  ACR_CUDA_TRY("cudaMalloc", dx.alloc(static_cast<size_t>(n * d)));
  ACR_CUDA_TRY("cudaMalloc", dmean.alloc(static_cast<size_t>(d)));
  ACR_CUDA_TRY("cudaMalloc", dcov.alloc(static_cast<size_t>(d * d)));
  ACR_CUDA_TRY("cudaMemcpy", cudaMemcpy(dx.ptr, x, sizeof(T) * n * d, cudaMemcpyHostToDevice));
  ACR_CUDA_TRY("cudaMemset", cudaMemset(dmean.ptr, 0, sizeof(double) * d));
  ACR_CUDA_TRY("cudaMemset", cudaMemset(dcov.ptr, 0, sizeof(double) * d * d));

  const int64_t col_blocks = (d + 31) / 32;
  const int64_t sum_rows = std::max<int64_t>(256, (n + 4 * sms - 1) / (4 * sms));
  const int64_t sum_blocks = (n + sum_rows - 1) / sum_rows;
  column_sums<T><<<dim3(static_cast<unsigned>(col_blocks), static_cast<unsigned>(sum_blocks)), dim3(32, 8)>>>(
      dx.ptr, n, d, sum_rows, dmean.ptr);
  ACR_CUDA_TRY("column_sums", cudaGetLastError());
  ACR_CUDA_TRY("cudaMemcpy", cudaMemcpy(mean, dmean.ptr, sizeof(double) * d, cudaMemcpyDeviceToHost));
  for (int64_t j = 0; j < d; ++j) mean[j] /= static_cast<double>(n);
  ACR_CUDA_TRY("cudaMemcpy", cudaMemcpy(dmean.ptr, mean, sizeof(double) * d, cudaMemcpyHostToDevice));

  const int64_t tiles = (d + kTile - 1) / kTile;
  const int64_t upper = tiles * (tiles + 1) / 2;
  // Enough row splits to give every SM a few blocks, each split at least 256 rows.
  const int64_t splits = std::max<int64_t>(1, std::min<int64_t>((n + 255) / 256, (4 * sms + upper - 1) / upper));
  const int64_t rows_per_split = (n + splits - 1) / splits;
  covariance_tiles<T><<<dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(tiles), static_cast<unsigned>(splits)),
                        dim3(16, 16)>>>(dx.ptr, dmean.ptr, n, d, rows_per_split, dcov.ptr);
  ACR_CUDA_TRY("covariance_tiles", cudaGetLastError());
  ACR_CUDA_TRY("cudaMemcpy", cudaMemcpy(cov, dcov.ptr, sizeof(double) * d * d, cudaMemcpyDeviceToHost));
  const double scale = 1.0 / static_cast<double>(n - 1);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = i; j < d; ++j) cov[i * d + j] = cov[j * d + i] = cov[i * d + j] * scale;
  return "";
}

// ---- Smooth-Face and Phi ---------------------------------------------------------------
constexpr int kProjectThreads = 128;

__device__ double block_max(double v, double* scratch) {
  for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // scratch may still be read from a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  double r = scratch[0];
  for (int w = 1; w < kProjectThreads / 32; ++w) r = fmax(r, scratch[w]);
  return r;
}

// Shared memory: centred shape / reconstruction (d), coefficients (k).
template <typename T>
__global__ void project_faces(const T* x, int64_t n, int64_t d, const double* mean, const double* comps,
                              const double* values, int64_t k, int mode, double epsilon, double mean_scale, T* out) {
  extern __shared__ double shm[];
  double* c = shm;      // d
  double* b = shm + d;  // k
  __shared__ double scratch[kProjectThreads / 32];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  for (int64_t face = blockIdx.x; face < n; face += gridDim.x) {
    const T* s = x + face * d;
    __syncthreads();  // the previous face is done with c and b
    for (int64_t j = tid; j < d; j += kProjectThreads) c[j] = static_cast<double>(s[j]) - mean[j];
    __syncthreads();
    for (int64_t i = warp; i < k; i += kProjectThreads / 32) {
      const double* v = comps + i * d;
      double dot = 0;
      for (int64_t j = lane; j < d; j += 32) dot += v[j] * c[j];
      for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
      if (lane == 0) {
        const double limit = 3.0 * sqrt(fmax(values[i], 0.0));
        b[i] = fmin(fmax(dot, -limit), limit);
      }
    }
    __syncthreads();
    // Each thread rebuilds its own coordinates; c[j] becomes the deviation |s_j - smooth_j|
    // (or the smooth value itself in smooth mode).
    double top = 0, scale = mean_scale;
    for (int64_t j = tid; j < d; j += kProjectThreads) {
      double r = mean[j];
      for (int64_t i = 0; i < k; ++i) r += b[i] * comps[i * d + j];
      const double sj = static_cast<double>(s[j]);
      if (mode == kAsmSmooth) {
        out[face * d + j] = static_cast<T>(r);
      } else {
        c[j] = sj - r;
        scale = fmax(scale, fabs(sj));
      }
    }
    if (mode == kAsmSmooth) continue;
    __syncthreads();
    if (mode == kAsmPhiCoordinate) {
      for (int64_t j = tid; j < d; j += kProjectThreads) {
        c[j] = fabs(c[j]);
        top = fmax(top, c[j]);
      }
    } else {
      for (int64_t p = tid; 2 * p + 1 < d; p += kProjectThreads) {
        const double dist = hypot(c[2 * p], c[2 * p + 1]);
        c[2 * p] = c[2 * p + 1] = dist;
        top = fmax(top, dist);
      }
    }
    top = block_max(top, scratch);
    scale = block_max(scale, scratch);
    for (int64_t j = tid; j < d; j += kProjectThreads)
      out[face * d + j] = top <= epsilon * scale ? T(0) : static_cast<T>(c[j] / top);
  }
}

template <typename T>
std::string project_impl(const T* x, int64_t n, int64_t d, const double* mean, const double* comps,
                         const double* values, int64_t k, int mode, double epsilon, T* out) {
  if (std::string e = ready(); !e.empty()) return e;
  if (n == 0) return "";
  const size_t shared = sizeof(double) * static_cast<size_t>(d + k);
  if (shared > 48 * 1024) return "the shape is too long for the GPU projection kernel";
  DeviceBuffer<T> dx, dout;
  DeviceBuffer<double> dmean, dcomps, dvalues;
  ACR_CUDA_TRY("cudaMalloc", dx.alloc(static_cast<size_t>(n * d)));
  ACR_CUDA_TRY("cudaMalloc", dout.alloc(static_cast<size_t>(n * d)));
  ACR_CUDA_TRY("cudaMalloc", dmean.alloc(static_cast<size_t>(d)));
  ACR_CUDA_TRY("cudaMalloc", dcomps.alloc(static_cast<size_t>(k * d)));
  ACR_CUDA_TRY("cudaMalloc", dvalues.alloc(static_cast<size_t>(k)));
  ACR_CUDA_TRY("cudaMemcpy", cudaMemcpy(dx.ptr, x, sizeof(T) * n * d, cudaMemcpyHostToDevice));
  ACR_CUDA_TRY("cudaMemcpy", cudaMemcpy(dmean.ptr, mean, sizeof(double) * d, cudaMemcpyHostToDevice));
  if (k > 0) {
    ACR_CUDA_TRY("cudaMemcpy", cudaMemcpy(dcomps.ptr, comps, sizeof(double) * k * d, cudaMemcpyHostToDevice));
    ACR_CUDA_TRY("cudaMemcpy", cudaMemcpy(dvalues.ptr, values, sizeof(double) * k, cudaMemcpyHostToDevice));
  }
  double mean_scale = 0;
  for (int64_t j = 0; j < d; ++j) mean_scale = std::max(mean_scale, std::fabs(mean[j]));
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(n, 65535));
  project_faces<T><<<blocks, kProjectThreads, shared>>>(dx.ptr, n, d, dmean.ptr, dcomps.ptr, dvalues.ptr, k, mode,
                                                        epsilon, mean_scale, dout.ptr);
  ACR_CUDA_TRY("project_faces", cudaGetLastError());
  ACR_CUDA_TRY("cudaMemcpy", cudaMemcpy(out, dout.ptr, sizeof(T) * n * d, cudaMemcpyDeviceToHost));
  return "";
}

}  // namespace

std::string asm_mean_covariance(const float* x, int64_t n, int64_t d, double* mean, double* cov) {
  return mean_covariance_impl(x, n, d, mean, cov);
}
std::string asm_mean_covariance(const double* x, int64_t n, int64_t d, double* mean, double* cov) {
  return mean_covariance_impl(x, n, d, mean, cov);
}
std::string asm_project(const float* x, int64_t n, int64_t d, const double* mean, const double* components,
                        const double* eigenvalues, int64_t k, int mode, double epsilon, float* out) {
  return project_impl(x, n, d, mean, components, eigenvalues, k, mode, epsilon, out);
}
std::string asm_project(const double* x, int64_t n, int64_t d, const double* mean, const double* components,
                        const double* eigenvalues, int64_t k, int mode, double epsilon, double* out) {
  return project_impl(x, n, d, mean, components, eigenvalues, k, mode, epsilon, out);
}

}  // namespace cuda
}  // namespace acr
