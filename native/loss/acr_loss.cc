// Driver for the loss kernels: picks the ISA, splits the work into fixed blocks (so float64
// sums come out the same for any thread count), runs them on the pool when large enough,
// applies the reduction's normaliser and routes large inputs to CUDA when a device exists.
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "common/cpu_features.h"
#include "common/threadpool.h"
#include "cuda/cuda_api.h"
#include "cuda/loss_cuda.h"
#include "loss/acr_loss.h"
#include "loss/loss_impl.h"

namespace acr {
namespace loss {
namespace {

// Elements per block: fixed, so that the order of the float64 additions never depends on
// the thread count. 16K floats x 4 inputs fit in L2 with room to spare.
constexpr int64_t kBlock = 16384;
// Below this many elements the pool is not used. One AVX-512 core does the ACR pass at about
// 0.8 ns per element (~1.25 G/s, measured on Zen 4), so 65536 elements are ~50 us of work
// against a pool wake-up of some microseconds; the sums do not depend on this choice (fixed blocks).
constexpr int64_t kParallelMin = 65536;

template <class Fn>
BlockResult run_blocks(const Inputs& in, const Outputs& out, Fn&& fn) {
  const int64_t n = in.n;
  if (n <= 0) return {};
  auto block_at = [&](int64_t k) {
    const int64_t begin = k * kBlock, len = std::min(kBlock, n - begin);
    Block b;
    b.pred = in.pred + begin;
    b.gt = in.gt + begin;
    b.phi = in.phi ? in.phi + begin : nullptr;
    b.w = in.weight ? in.weight + begin : nullptr;
    b.dy = out.dy ? out.dy + begin : nullptr;
    b.loss_elem = out.loss_elem ? out.loss_elem + begin : nullptr;
    b.grad = out.grad ? out.grad + begin : nullptr;
    b.n = len;
    return fn(b);
  };
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  if (blocks == 1) return block_at(0);
  std::vector<BlockResult> parts(static_cast<size_t>(blocks));
  auto body = [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) parts[static_cast<size_t>(k)] = block_at(k);
  };
  if (n >= kParallelMin) parallel_for(blocks, 1, body);
  else body(0, blocks);
  BlockResult total;
  for (const BlockResult& p : parts) {
    total.sum += p.sum;
    total.flags |= p.flags;
  }
  return total;
}

double sum_weights(const float* w, int64_t n) {
  const Isa isa = best_isa();
  auto fn = isa == Isa::Avx512 ? sum_block_avx512 : isa == Isa::Avx2 ? sum_block_avx2 : sum_block_scalar;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> parts(static_cast<size_t>(blocks > 0 ? blocks : 0));
  auto body = [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) parts[k] = fn(w + k * kBlock, std::min(kBlock, n - k * kBlock));
  };
  if (n >= kParallelMin) parallel_for(blocks, 1, body);
  else body(0, blocks);
  double s = 0;
  for (double p : parts) s += p;
  return s;
}

// The reduction's normaliser: the mean divides by n, or by the sum of the weights.
double normaliser(const Inputs& in, Reduction reduction) {
  if (reduction != Reduction::Mean || in.n == 0) return 1.0;
  if (!in.weight) return 1.0 / static_cast<double>(in.n);
  const double sw = sum_weights(in.weight, in.n);
  return sw > 0 && std::isfinite(sw) ? 1.0 / sw : 0.0;  // all weights 0: loss 0, gradient 0
}

int64_t first_bad(const float* x, int64_t n, float hi) {
  for (int64_t i = 0; i < n; ++i)
    if (!(x[i] >= 0.0f && x[i] <= hi)) return i;
  return -1;
}

Result finish(const Inputs& in, const BlockResult& r, double norm) {
  Result res;
  res.loss = r.sum * norm;
  if (r.flags & kBadPhi) {
    res.status = Status::PhiOutOfRange;
    res.bad_index = first_bad(in.phi, in.n, 1.0f);
  } else if (r.flags & kBadWeight) {
    res.status = Status::WeightOutOfRange;
    res.bad_index = first_bad(in.weight, in.n, FLT_MAX);
  }
  return res;
}

Result run_base(int kind, const Inputs& in, Reduction reduction, const Outputs& out) {
  const double norm = normaliser(in, reduction);
  const float gscale = static_cast<float>(norm * out.dy_scalar);
  const Isa isa = best_isa();
  auto fn = isa == Isa::Avx512 ? base_block_avx512 : isa == Isa::Avx2 ? base_block_avx2 : base_block_scalar;
  const BlockResult r = run_blocks(in, out, [&](const Block& b) { return fn(kind, b, gscale); });
  return finish(in, r, reduction == Reduction::None ? 1.0 : norm);
}

}  // namespace

int64_t cuda_min_elements() {
  static const int64_t v = [] {
    if (const char* env = std::getenv("ACR_CUDA_MIN_ELEMENTS")) {
      const long long x = std::atoll(env);
      if (x > 0) return static_cast<int64_t>(x);
    }
    // Host arrays cross PCIe both ways (16-20 bytes per element): the GPU only wins once
    // the CPU's own pass is long. Untested on a device here; override with the env var.
    return static_cast<int64_t>(1) << 22;
  }();
  return v;
}

Result acr_loss(const Inputs& in, const AcrParams& params, Reduction reduction, const Outputs& out, Device device) {
  const double norm = normaliser(in, reduction);
  Consts c;
  c.lambda = params.lambda;
  c.t = params.threshold;
  c.log_t = std::log(params.threshold);
  c.reference = params.constant == Constant::Reference;
  c.grad_scale = static_cast<float>(norm * out.dy_scalar);
  const double out_norm = reduction == Reduction::None ? 1.0 : norm;

  const bool want_cuda =
      device == Device::Cuda || (device == Device::Auto && in.n >= cuda_min_elements() && cuda::device_count() > 0);
  if (want_cuda) {
    Result res;
    if (cuda::device_count() <= 0) {
      res.status = Status::NoDevice;
      return res;
    }
    Block all{in.pred, in.gt, in.phi, in.weight, out.dy, out.loss_elem, out.grad, in.n};
    const cuda::LossRun run = cuda::acr_loss(all, c);
    if (!run.ok) {
      if (device == Device::Cuda) {
        res.status = Status::DeviceError;
        res.message = run.error;
        return res;
      }
      // Auto: a device failure falls back to the CPU below.
    } else {
      res = finish(in, run.result, out_norm);
      res.on_device = true;
      return res;
    }
  }

  const Isa isa = best_isa();
  auto fn = isa == Isa::Avx512 ? acr_block_avx512 : isa == Isa::Avx2 ? acr_block_avx2 : acr_block_scalar;
  return finish(in, run_blocks(in, out, [&](const Block& b) { return fn(b, c); }), out_norm);
}

Result l2_loss(const Inputs& in, Reduction reduction, const Outputs& out) { return run_base(0, in, reduction, out); }
Result l1_loss(const Inputs& in, Reduction reduction, const Outputs& out) { return run_base(1, in, reduction, out); }

}  // namespace loss
}  // namespace acr
