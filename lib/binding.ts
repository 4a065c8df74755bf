/**
 * Loads the native addon and describes exactly what it exports. Everything below is the raw
 * native surface: typed arrays in, typed arrays out, sizes checked again on the native side.
 * Users call the typed wrappers in the other modules, which validate first.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { NativeError, fromNative } from './errors';

export interface NativeInfo {
  /** ISA the kernels run with now ('scalar' | 'avx2' | 'avx512'). */
  isa: string;
  /** Best ISA the CPU supports. */
  isaDetected: string;
  /** Threads in the addon's pool (workers + caller). */
  threads: number;
  /** Built with nvcc (the CUDA kernels are in the binary). */
  cudaCompiled: boolean;
  /** CUDA devices usable now (0 without a driver or GPU, or with ACR_CUDA=OFF). */
  gpuCount: number;
  gpuName: string;
}

/** The functions exported by build/Release/acr_native.node. Kept in step with native/napi/. */
export interface NativeBinding {
  info(): NativeInfo;
  setNumThreads(n: number): number;
  setIsa(isa: 'scalar' | 'avx2' | 'avx512'): string;

  // ---- loss family (native/napi/loss_napi.cc) ----
  /** Fused ACR loss + gradient; writes lossOut/gradOut when given; returns the reduced loss (sum for 'none'). */
  acrLossAndGrad(
    pred: Float32Array,
    gt: Float32Array,
    phi: Float32Array,
    weight: Float32Array | null,
    batch: number,
    dim: number,
    lambda: number,
    threshold: number,
    constant: 'continuous' | 'reference',
    device: 'auto' | 'cpu' | 'cuda',
    reduction: 'mean' | 'sum' | 'none',
    dyScalar: number,
    dy: Float32Array | null,
    lossOut: Float32Array | null,
    gradOut: Float32Array | null,
  ): number;
  l2LossAndGrad(
    pred: Float32Array,
    gt: Float32Array,
    weight: Float32Array | null,
    batch: number,
    dim: number,
    reduction: 'mean' | 'sum' | 'none',
    dyScalar: number,
    dy: Float32Array | null,
    lossOut: Float32Array | null,
    gradOut: Float32Array | null,
  ): number;
  l1LossAndGrad(
    pred: Float32Array,
    gt: Float32Array,
    weight: Float32Array | null,
    batch: number,
    dim: number,
    reduction: 'mean' | 'sum' | 'none',
    dyScalar: number,
    dy: Float32Array | null,
    lossOut: Float32Array | null,
    gradOut: Float32Array | null,
  ): number;
  /** dst = src with the addon's threads (memory-bandwidth probe). */
  bandwidthCopy(src: Float32Array, dst: Float32Array): void;
  /** Sum of src in float64 with the addon's threads (read-bandwidth probe). */
  bandwidthRead(src: Float32Array): number;
  // ---- end loss family ----
  // --- nn family (native/napi/nn_napi.cc) ---
  // geometry = [N, H, W, C, OH, OW, OC, KH, KW, strideH, strideW, dilationH, dilationW, padTop, padLeft]
  // activation: 0 linear, 1 relu, 2 relu6, 3 leakyrelu (alpha), 4 elu, 5 sigmoid.
  nnConv2d(x: Float32Array, filter: Float32Array, bias: Float32Array | null, y: Float32Array,
    geometry: number[], activation: number, alpha: number): void;
  nnConv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: number[]): void;
  nnConv2dBackpropFilter(x: Float32Array, dy: Float32Array, df: Float32Array, geometry: number[]): void;
  nnDepthwise(x: Float32Array, filter: Float32Array, bias: Float32Array | null, y: Float32Array,
    geometry: number[], activation: number, alpha: number): void;
  nnDepthwiseBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: number[]): void;
  nnDepthwiseBackpropFilter(x: Float32Array, dy: Float32Array, df: Float32Array, geometry: number[]): void;
  /** dims = [batchA, batchB, M, N, K]; c[i] = act(op(a[i]) op(b[i]) + bias[n]); a batch of 1 broadcasts. */
  nnMatMul(a: Float32Array, b: Float32Array, bias: Float32Array | null, c: Float32Array, dims: number[],
    transposeA: boolean, transposeB: boolean, activation: number, alpha: number): void;
  /**
   * Training-mode batch norm over the last axis: writes y, mean and (population) variance. With
   * cap >= 0, y = min(max(bn, 0), cap) in the same pass (BN + capped ReLU fused).
   */
  nnBatchNormTrain(x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, y: Float32Array,
    mean: Float32Array, variance: Float32Array, channels: number, epsilon: number, cap?: number): void;
  /** The gradient of the above; for a fused cap, pass the forward's beta and cap. */
  nnBatchNormTrainGrad(dy: Float32Array, x: Float32Array, gamma: Float32Array | null, mean: Float32Array,
    variance: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, channels: number, epsilon: number,
    beta?: Float32Array | null, cap?: number): void;
  /** y = min(max(x, 0), cap); gradient passes where 0 < x <= cap. */
  nnReluCap(x: Float32Array, y: Float32Array, cap: number): void;
  nnReluCapGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, cap: number): void;
  /** out = a op b (0 add, 1 sub, 2 mul, 3 div), numpy broadcasting over equal-rank shapes. */
  nnBinary(op: number, a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], out: Float32Array,
    outShape: number[]): void;
  /** x as [outer, mid, inner]: out[o, i] = scale * sum over mid. */
  nnReduceSum(x: Float32Array, out: Float32Array, outer: number, mid: number, inner: number, scale: number): void;
  /** glibc only: keep freed memory in the process (no mmap, no trim). False where unsupported. */
  nnRetainFreedMemory(): boolean;
  /** One Adam step in tfjs' float32 operation order; coefficients [b1, 1-b1, b2, 1-b2, 1-b1^t, 1-b2^t, eps, -lr]. */
  nnAdamUpdate(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, pOut: Float32Array,
    mOut: Float32Array, vOut: Float32Array, coefficients: number[]): void;
  /** The same step with p, m and v updated in place (no two of the four arrays may overlap). */
  nnAdamUpdateInPlace(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, coefficients: number[]): void;
  /** At the AVX-512 level: 0 use the measured faster kernel, 1 force AVX-512, 2 force AVX2. Returns the kernel name. */
  nnGemmForceAvx512Kernel(choice: number): string;
  /** Name of the GEMM micro-kernel in force ('avx512-14x32', 'avx2-6x16', 'scalar-4x8'). */
  nnGemmKernel(): string;
  // --- end nn family ---
  // ---- Active Shape Model (native/napi/asm_napi.cc) ----
  /** Mean and covariance (divided by n - 1) of x (n x d, row-major) into mean[d], cov[d*d]. Returns where it ran. */
  asmMeanCov(
    x: Float32Array | Float64Array,
    n: number,
    d: number,
    mean: Float64Array,
    cov: Float64Array,
    device?: AsmDevice,
  ): 'cpu' | 'cuda';
  /** Eigenvalues (descending) and unit eigenvectors (rows of `vectors`, which may be `a` itself) of the symmetric part of a (n x n). */
  asmEigh(a: Float64Array, n: number, values: Float64Array, vectors: Float64Array): void;
  /** Smooth-Face of each row of x into out (same element type; may be x itself). */
  asmSmooth(
    x: Float32Array | Float64Array,
    n: number,
    d: number,
    mean: Float64Array,
    components: Float64Array,
    eigenvalues: Float64Array,
    k: number,
    out: Float32Array | Float64Array,
    device?: AsmDevice,
  ): 'cpu' | 'cuda';
  /** Phi of each row of x into out (same element type; may be x itself). */
  asmPhi(
    x: Float32Array | Float64Array,
    n: number,
    d: number,
    mean: Float64Array,
    components: Float64Array,
    eigenvalues: Float64Array,
    k: number,
    mode: 'coordinate' | 'landmark',
    epsilon: number,
    out: Float32Array | Float64Array,
    device?: AsmDevice,
  ): 'cpu' | 'cuda';
  // ---- end Active Shape Model ----
}

/** Where an ASM kernel runs: 'auto' uses a GPU when one is present and the work is large. */
export type AsmDevice = 'auto' | 'cpu' | 'cuda';

const PACKAGE_ROOT = path.join(__dirname, '..');

/**
 * Where the addon may be, in the order tried: a source build (build/, made by the install script's
 * fallback, `npm run rebuild:native` or a clone's `npm install`) before the prebuilt shipped in the
 * npm package (prebuilds/<platform>-<arch>/, CPU only). A source build exists only where someone
 * asked for one, and may carry the CUDA kernels the prebuilt lacks; in a clone it is the code being
 * worked on, which a prebuilt left by `npm pack` must not shadow. `ACR_NATIVE_PATH` names a file to
 * load instead of all of these.
 */
export function nativeCandidates(root = PACKAGE_ROOT, env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.ACR_NATIVE_PATH) return [path.resolve(env.ACR_NATIVE_PATH)];
  return [
    path.join(root, 'build', 'Release', 'acr_native.node'),
    path.join(root, 'build', 'Debug', 'acr_native.node'),
    path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'acr_native.node'),
  ];
}

const HOW_TO_BUILD =
  `The npm package ships a prebuilt addon for linux-x64 (glibc >= 2.34); elsewhere its install script ` +
  `compiles one with cmake-js, which needs cmake >= 3.18 and a C++17 compiler (Debian/Ubuntu: apt-get install cmake g++). ` +
  `To build it now: 'npm rebuild acr-loss' in your project (ACR_BUILD_FROM_SOURCE=1 forces a source build), ` +
  `or 'npm run rebuild:native' in the package folder; read that output for what failed. ` +
  `Was the install run with --ignore-scripts? Then the prebuilt is still used where it fits, but a source build never ran.`;

/** Loads the first candidate that exists and loads; throws a NativeError naming each failure and what to do. */
export function loadNative(candidates: string[]): NativeBinding {
  const failures: string[] = [];
  let firstError: unknown;
  for (const file of candidates) {
    if (!fs.existsSync(file)) continue;
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      return require(file) as NativeBinding;
    } catch (err) {
      firstError ??= err;
      failures.push(`${file} failed to load: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const tried = failures.length > 0 ? failures.join('; ') : `not found (looked in ${candidates.join(', ')})`;
  throw new NativeError(`the native addon acr_native.node cannot be loaded on ${process.platform}-${process.arch}: ${tried}. ${HOW_TO_BUILD}`, firstError);
}

let cached: NativeBinding | undefined;

/** The native addon, loaded once. Throws a NativeError that says how to build it when missing. */
export function native(): NativeBinding {
  cached ??= loadNative(nativeCandidates());
  return cached;
}

/** Calls into the addon and turns its errors into typed AcrErrors. */
export function call<T>(fn: (b: NativeBinding) => T): T {
  const b = native();
  try {
    return fn(b);
  } catch (err) {
    throw fromNative(err);
  }
}
