#include "nn/gemm.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <vector>
#include <cmath>
#include <cstring>

#include "common/cpu_features.h"
#include "common/threadpool.h"
#include "nn/gemm_kernels.h"
#include "nn/workspace.h"

namespace acr {
namespace nn {
namespace {

// Share of a row of tiles that holds real columns.
double column_use(int64_t N, int nr) { return static_cast<double>(N) / (nr * ((N + nr - 1) / nr)); }

#if defined(__x86_64__) || defined(_M_X64)
// Seconds per flop of a micro-kernel on an L1-resident panel (best of a few runs).
double time_kernel(const KernelInfo& ki) {
  const int64_t kc = 256;
  std::vector<float> a(kc * ki.mr, 0.5f), b(kc * ki.nr, 0.25f), c(ki.mr * ki.nr);
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 200; ++i) ki.fn(kc, a.data(), 1, ki.mr, b.data(), ki.nr, c.data(), ki.nr, i > 0);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s / (200.0 * 2 * kc * ki.mr * ki.nr));
  }
  return best;
}

// Where AVX-512 runs at half width (AMD Zen 4 splits each 512-bit FMA in two), the AVX2
// kernel is as fast or faster: measure both once and keep the better one.
const KernelInfo& avx512_level_kernel() {
  static const KernelInfo best = [] {
    const KernelInfo k512 = kernel_avx512(), k2 = kernel_avx2();
    return time_kernel(k512) < 0.97 * time_kernel(k2) ? k512 : k2;
  }();
  return best;
}
#endif

std::atomic<int> g_avx512_choice{0};  // 0 measured, 1 AVX-512 kernel, 2 AVX2 kernel

KernelInfo select_kernel(int64_t N) {
#if defined(__x86_64__) || defined(_M_X64)
  switch (best_isa()) {
    case Isa::Avx512: {
      const int choice = g_avx512_choice.load();
      const KernelInfo k = choice == 1 ? kernel_avx512() : choice == 2 ? kernel_avx2() : avx512_level_kernel();
      // Narrow outputs (1x1 convolutions with 8-24 channels) waste less of a 16-wide tile.
      return k.nr == 32 && column_use(N, 16) > column_use(N, 32) ? kernel_avx2() : k;
    }
    case Isa::Avx2: return kernel_avx2();
    default: break;
  }
#endif
  return kernel_scalar();
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A block of rows [i0, i0+mc) x depth [pc, pc+kc): packed (Ap, direct false) or read in place
// (Ap = &A(i0, pc), strides si/sk; a partial last panel is packed into an edge buffer).
struct ABlock {
  const float* Ap;
  bool direct;
  int64_t si, sk;
  const PackSource* src;
  int64_t pc;
};

// A block of B columns [j0, j0+ncols) x depth [pc, pc+kc): packed panels (Bp), or read in place
// (direct: B(k, j) = direct[k*ldb + j - j0], the block's first column and depth) with only a
// partial last panel packed, at its place in Bp.
struct BBlock {
  const float* Bp;
  const float* direct;
  int64_t ldb;
};

// The A block against B panels [jp0, jp1) of the B block whose first column is j0 and which is
// ncols wide. B micro-panels stay in L1 across the inner loop.
void run_block(const KernelInfo& ki, int64_t i0, int64_t mc, const ABlock& A, const BBlock& B, int64_t kc,
               int64_t jp0, int64_t jp1, int64_t j0, int64_t ncols, float* C, int64_t ldc, bool acc, bool last,
               const Epilogue& ep) {
  const int MR = ki.mr, NR = ki.nr;
  float* tile = nullptr;
  float* edge = nullptr;
  const bool epi = last && !ep.trivial();
  for (int64_t jp = jp0; jp < jp1; ++jp) {
    const int64_t jj = j0 + jp * NR;
    const int nr = static_cast<int>(std::min<int64_t>(NR, j0 + ncols - jj));
    const bool bdirect = B.direct && nr == NR;
    const float* b = bdirect ? B.direct + jp * NR : B.Bp + jp * kc * NR;
    const int64_t ldb = bdirect ? B.ldb : NR;
    for (int64_t ip = 0; ip * MR < mc; ++ip) {
      const int64_t ii = i0 + ip * MR;
      const int mr = static_cast<int>(std::min<int64_t>(MR, i0 + mc - ii));
      const float* a = A.direct ? A.Ap + ip * MR * A.si : A.Ap + ip * kc * MR;
      int64_t si = A.direct ? A.si : 1, sk = A.direct ? A.sk : MR;
      if (A.direct && mr < MR) {  // rows past M must not be read: pack the short panel
        if (!edge) {
          edge = scratch(Slot::Edge, static_cast<size_t>(MR) * kc);
          A.src->pack(ii, mr, A.pc, kc, MR, edge);
        }
        a = edge;
        si = 1;
        sk = MR;
      }
      float* c = C + ii * ldc + jj;
      if (mr == MR && nr == NR) {
        ki.fn(kc, a, si, sk, b, ldb, c, ldc, acc);
      } else {
        if (!tile) tile = scratch(Slot::Tile, static_cast<size_t>(MR) * NR);
        ki.fn(kc, a, si, sk, b, ldb, tile, NR, false);
        for (int r = 0; r < mr; ++r) {
          float* cr = c + r * ldc;
          const float* tr = tile + r * NR;
          if (acc)
            for (int j = 0; j < nr; ++j) cr[j] += tr[j];
          else
            std::memcpy(cr, tr, sizeof(float) * nr);
        }
      }
      if (epi) apply_epilogue(c, ldc, mr, nr, jj, ep);
    }
  }
}

// C = A[:, kb:ke] * Bt[:, kb:ke]^T (+ C), epilogue after the last K block.
void gemm_range(const KernelInfo& ki, int64_t M, int64_t N, int64_t kb, int64_t ke, const PackSource& A,
                const PackSource& Bt, float* C, int64_t ldc, bool accumulate, const Epilogue& ep) {
  const int64_t MR = ki.mr, NR = ki.nr;
  const int64_t mblocks = ceil_div(M, ki.mc);
  const int threads = num_threads();
  // Packing A pays off when each packed panel meets many B panels; for narrower outputs (the
  // 1x1 convolutions of MobileNets) reading row-major A in place was up to 2.5x faster here.
  int64_t dsi = 0, dsk = 0;
  const float* direct = N <= 512 ? A.strided(&dsi, &dsk) : nullptr;
  // Packing B pays off when each packed panel meets many A panels. When it meets at most three
  // (the filter gradients of 1x1 convolutions with 8-16 input channels: M = input channels,
  // K = pixels) packing took as long as the multiply, so B with unit column stride is read in
  // place. With more, the strided panel's L1 misses cost more than packing (up to 1.9x here).
  int64_t bsj = 0, bsk = 0;
  const float* bdirect = ceil_div(M, MR) <= 3 ? Bt.strided(&bsj, &bsk) : nullptr;
  if (bsj != 1) bdirect = nullptr;
  for (int64_t jc = 0; jc < N; jc += ki.nc) {
    const int64_t nc = std::min(ki.nc, N - jc);
    const int64_t npanels = ceil_div(nc, NR);
    for (int64_t pc = kb; pc < ke; pc += ki.kc) {
      const int64_t kc = std::min(ki.kc, ke - pc);
      const bool acc = accumulate || pc > kb;
      const bool last = pc + kc == ke;
      float* Bp = scratch(Slot::PackB, static_cast<size_t>(npanels * kc * NR));
      const BBlock B{Bp, bdirect ? bdirect + jc + pc * bsk : nullptr, bsk};
      if (bdirect) {
        if (nc % NR) Bt.pack(jc + nc / NR * NR, nc % NR, pc, kc, static_cast<int>(NR), Bp + nc / NR * kc * NR);
      } else {
        parallel_for(npanels, std::max<int64_t>(1, 4096 / (kc * NR) + 1), [&](int64_t b, int64_t e) {
          Bt.pack(jc + b * NR, std::min(nc, e * NR) - b * NR, pc, kc, static_cast<int>(NR), Bp + b * kc * NR);
        });
      }
      // Few row blocks: also split the columns so every thread has work.
      int64_t ngroups = 1;
      if (mblocks < 2 * threads) ngroups = std::min<int64_t>(npanels, ceil_div(2 * threads, mblocks));
      const int64_t tasks = mblocks * ngroups;
      parallel_for(tasks, 1, [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t) {
          const int64_t mb = t / ngroups, g = t % ngroups;
          const int64_t i0 = mb * ki.mc, mc = std::min(ki.mc, M - i0);
          ABlock blk{nullptr, false, 0, 0, &A, pc};
          if (direct) {
            blk.Ap = direct + i0 * dsi + pc * dsk;
            blk.direct = true;
            blk.si = dsi;
            blk.sk = dsk;
          } else {
            float* Ap = scratch(Slot::PackA, static_cast<size_t>(ceil_div(mc, MR) * MR * kc));
            A.pack(i0, mc, pc, kc, static_cast<int>(MR), Ap);
            blk.Ap = Ap;
          }
          run_block(ki, i0, mc, blk, B, kc, npanels * g / ngroups, npanels * (g + 1) / ngroups, jc, nc, C, ldc,
                    acc, last, ep);
        }
      });
    }
  }
}

}  // namespace

void StridedSource::pack(int64_t i0, int64_t ni, int64_t k0, int64_t nk, int w, float* dst) const {
  for (int64_t p0 = 0; p0 < ni; p0 += w) {
    const int rows = static_cast<int>(std::min<int64_t>(w, ni - p0));
    float* d = dst + (p0 / w) * nk * w;
    const float* base = p_ + (i0 + p0) * rs_ + k0 * cs_;
    if (rs_ == 1) {
      for (int64_t k = 0; k < nk; ++k) {
        const float* s = base + k * cs_;
        float* dk = d + k * w;
        for (int r = 0; r < rows; ++r) dk[r] = s[r];
        for (int r = rows; r < w; ++r) dk[r] = 0.f;
      }
    } else {
      for (int r = 0; r < rows; ++r) {
        const float* s = base + r * rs_;
        if (cs_ == 1)
          for (int64_t k = 0; k < nk; ++k) d[k * w + r] = s[k];
        else
          for (int64_t k = 0; k < nk; ++k) d[k * w + r] = s[k * cs_];
      }
      for (int r = rows; r < w; ++r)
        for (int64_t k = 0; k < nk; ++k) d[k * w + r] = 0.f;
    }
  }
}

void apply_epilogue(float* C, int64_t ldc, int64_t rows, int64_t cols, int64_t n0, const Epilogue& ep) {
  const float* bias = ep.bias ? ep.bias + n0 : nullptr;
  for (int64_t r = 0; r < rows; ++r) {
    float* c = C + r * ldc;
    if (bias)
      for (int64_t j = 0; j < cols; ++j) c[j] += bias[j];
    switch (ep.act) {
      case Act::Linear: break;
      case Act::Relu:
        for (int64_t j = 0; j < cols; ++j) c[j] = c[j] > 0.f ? c[j] : 0.f;
        break;
      case Act::Relu6:
        for (int64_t j = 0; j < cols; ++j) c[j] = std::min(std::max(c[j], 0.f), 6.f);
        break;
      case Act::LeakyRelu:
        for (int64_t j = 0; j < cols; ++j) c[j] = c[j] < 0.f ? c[j] * ep.alpha : c[j];
        break;
      case Act::Elu:
        for (int64_t j = 0; j < cols; ++j) c[j] = c[j] < 0.f ? std::expm1(c[j]) : c[j];
        break;
      case Act::Sigmoid:
        for (int64_t j = 0; j < cols; ++j) c[j] = 1.f / (1.f + std::exp(-c[j]));
        break;
    }
  }
}

void gemm(int64_t M, int64_t N, int64_t K, const PackSource& A, const PackSource& Bt, float* C, int64_t ldc,
          bool accumulate, const Epilogue& ep) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int64_t i = 0; i < M; ++i)
      if (!accumulate) std::fill(C + i * ldc, C + i * ldc + N, 0.f);
    if (!ep.trivial()) apply_epilogue(C, ldc, M, N, 0, ep);
    return;
  }
  const KernelInfo ki = select_kernel(N);
  const int threads = num_threads();
  const int64_t tiles = ceil_div(M, ki.mc) * ceil_div(N, ki.nr);
  // Small C, long K (filter gradients): each thread sums a K range into its own copy of C.
  if (threads > 1 && tiles < 2 * threads && K >= 2 * ki.kc * threads && M * N * threads <= (int64_t(1) << 24)) {
    const int64_t kblocks = ceil_div(K, ki.kc);
    const int64_t parts = std::min<int64_t>(threads, kblocks);
    float* partial = scratch(Slot::Partial, static_cast<size_t>(parts * M * N));
    parallel_for(parts, 1, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const int64_t kb = std::min(K, kblocks * t / parts * ki.kc), ke = std::min(K, kblocks * (t + 1) / parts * ki.kc);
        float* P = partial + t * M * N;
        if (kb < ke) gemm_range(ki, M, N, kb, ke, A, Bt, P, N, false, Epilogue());
        else std::fill(P, P + M * N, 0.f);
      }
    });
    add_parts(partial, parts, M, N, C, ldc, accumulate);
    if (!ep.trivial()) apply_epilogue(C, ldc, M, N, 0, ep);
    return;
  }
  gemm_range(ki, M, N, 0, K, A, Bt, C, ldc, accumulate, ep);
}

void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
           int64_t ldb, float* C, int64_t ldc, bool accumulate, const Epilogue& ep) {
  const StridedSource a = transA ? StridedSource(A, 1, lda) : StridedSource(A, lda, 1);
  const StridedSource bt = transB ? StridedSource(B, ldb, 1) : StridedSource(B, 1, ldb);
  gemm(M, N, K, a, bt, C, ldc, accumulate, ep);
}

void gemm_force_avx512_kernel(int choice) { g_avx512_choice.store(choice < 0 || choice > 2 ? 0 : choice); }

const char* gemm_kernel_name() { return select_kernel(1 << 20).name; }

}  // namespace nn
}  // namespace acr
