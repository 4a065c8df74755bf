// CUDA fused ACR loss + gradient. Each thread handles elements in a grid-stride loop with the
// same float64 element function as the scalar CPU kernel (loss/element.h); per-block float64
// sums come from cub::BlockReduce and are added on the host in block order, so the result is
// deterministic. Device buffers are cached between calls (cudaMalloc is slow).
#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>
#include <mutex>
#include <string>
#include <vector>

#include "cuda/loss_cuda.h"
#include "loss/element.h"

namespace acr {
namespace cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxBlocks = 2048;

struct DevArgs {
  const float *pred, *gt, *phi, *w, *dy;
  float *loss_elem, *grad;
  long long n;
  float lambda, t, grad_scale;
  int reference;
};

__global__ void acr_kernel(DevArgs a, double* partial, unsigned* flags) {
  using Reduce = cub::BlockReduce<double, kThreads>;
  __shared__ typename Reduce::TempStorage tmp;
  double sum = 0.0;
  unsigned f = 0;
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < a.n; i += stride) {
    const float phi = a.phi[i];
    if (!(phi >= 0.0f && phi <= 1.0f)) f |= loss::kBadPhi;
    float w = 1.0f;
    if (a.w) {
      w = a.w[i];
      if (!(w >= 0.0f && w <= 3.4028234663852886e38f)) f |= loss::kBadWeight;
    }
    const loss::ElementOut e = loss::acr_element_impl(a.pred[i], a.gt[i], phi, w, a.lambda, a.t, a.reference != 0);
    sum += e.loss;
    if (a.loss_elem) a.loss_elem[i] = loss::saturate_impl(e.loss);
    if (a.grad) a.grad[i] = loss::saturate_impl(e.grad * a.grad_scale * (a.dy ? a.dy[i] : 1.0f));
  }
  const double total = Reduce(tmp).Sum(sum);
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
  if (f) atomicOr(flags, f);
}

// One growable device workspace, shared by all calls (serialised by the mutex).
struct Workspace {
  std::mutex mutex;
  float* data = nullptr;
  size_t floats = 0;
  double* partial = nullptr;
  unsigned* flags = nullptr;

  cudaError_t reserve(size_t n) {
    if (!partial) {
      if (cudaError_t e = cudaMalloc(&partial, kMaxBlocks * sizeof(double))) return e;
      if (cudaError_t e = cudaMalloc(&flags, sizeof(unsigned))) return e;
    }
    if (n <= floats) return cudaSuccess;
    if (data) cudaFree(data);
    data = nullptr;
    floats = 0;
    if (cudaError_t e = cudaMalloc(&data, n * sizeof(float))) return e;
    floats = n;
    return cudaSuccess;
  }
};

Workspace& workspace() {
  static Workspace* w = new Workspace();  // never freed: the driver may be gone at exit
  return *w;
}

}  // namespace

LossRun acr_loss(const loss::Block& all, const loss::Consts& c) {
  LossRun run;
  const size_t n = static_cast<size_t>(all.n);
  if (n == 0) {
    run.ok = true;
    return run;
  }
  Workspace& ws = workspace();
  std::lock_guard<std::mutex> lock(ws.mutex);
  auto fail = [&](cudaError_t e, const char* what) {
    run.ok = false;
    run.error = std::string(what) + ": " + cudaGetErrorString(e);
    cudaGetLastError();
    return run;
  };
  // Slots: pred, gt, phi, [w], [dy], [loss_elem], [grad].
  const size_t slots = 3 + (all.w ? 1 : 0) + (all.dy ? 1 : 0) + (all.loss_elem ? 1 : 0) + (all.grad ? 1 : 0);
  if (cudaError_t e = ws.reserve(slots * n)) return fail(e, "cudaMalloc");
  float* next = ws.data;
  auto upload = [&](const float* host, const float** dev) -> cudaError_t {
    *dev = next;
    next += n;
    return cudaMemcpy(const_cast<float*>(*dev), host, n * sizeof(float), cudaMemcpyHostToDevice);
  };
  DevArgs a{};
  if (cudaError_t e = upload(all.pred, &a.pred)) return fail(e, "cudaMemcpy pred");
  if (cudaError_t e = upload(all.gt, &a.gt)) return fail(e, "cudaMemcpy gt");
  if (cudaError_t e = upload(all.phi, &a.phi)) return fail(e, "cudaMemcpy phi");
  if (all.w)
    if (cudaError_t e = upload(all.w, &a.w)) return fail(e, "cudaMemcpy weight");
  if (all.dy)
    if (cudaError_t e = upload(all.dy, &a.dy)) return fail(e, "cudaMemcpy dy");
  if (all.loss_elem) a.loss_elem = next, next += n;
  if (all.grad) a.grad = next, next += n;
  a.n = static_cast<long long>(n);
  a.lambda = c.lambda;
  a.t = c.t;
  a.grad_scale = c.grad_scale;
  a.reference = c.reference ? 1 : 0;

  const int blocks = static_cast<int>(std::min<size_t>((n + kThreads - 1) / kThreads, kMaxBlocks));
  if (cudaError_t e = cudaMemset(ws.flags, 0, sizeof(unsigned))) return fail(e, "cudaMemset");
  acr_kernel<<<blocks, kThreads>>>(a, ws.partial, ws.flags);
  if (cudaError_t e = cudaGetLastError()) return fail(e, "kernel launch");
  std::vector<double> partial(static_cast<size_t>(blocks));
  unsigned flags = 0;
  if (cudaError_t e = cudaMemcpy(partial.data(), ws.partial, blocks * sizeof(double), cudaMemcpyDeviceToHost))
    return fail(e, "cudaMemcpy partial sums");
  if (cudaError_t e = cudaMemcpy(&flags, ws.flags, sizeof(unsigned), cudaMemcpyDeviceToHost))
    return fail(e, "cudaMemcpy flags");
  if (all.loss_elem)
    if (cudaError_t e = cudaMemcpy(all.loss_elem, a.loss_elem, n * sizeof(float), cudaMemcpyDeviceToHost))
      return fail(e, "cudaMemcpy losses");
  if (all.grad)
    if (cudaError_t e = cudaMemcpy(all.grad, a.grad, n * sizeof(float), cudaMemcpyDeviceToHost))
      return fail(e, "cudaMemcpy gradient");
  for (double p : partial) run.result.sum += p;
  run.result.flags = flags;
  run.ok = true;
  return run;
}

}  // namespace cuda
}  // namespace acr
