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
  /** Eigenvalues (descending) and unit eigenvectors (rows of `vectors`) of the symmetric part of a (n x n). */
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

const CANDIDATES = [
  path.join(__dirname, '..', 'build', 'Release', 'acr_native.node'),
  path.join(__dirname, '..', 'build', 'Debug', 'acr_native.node'),
];

let cached: NativeBinding | undefined;

/** The native addon, loaded once. Throws a NativeError that says how to build it when missing. */
export function native(): NativeBinding {
  if (cached) return cached;
  const found = CANDIDATES.find((p) => fs.existsSync(p));
  if (!found) {
    throw new NativeError(
      `the native addon acr_native.node was not found (looked in ${CANDIDATES.join(', ')}). ` +
        `It is built by 'npm install' with cmake-js and a C++17 compiler; run 'npm run rebuild:native' ` +
        `in the package folder and read its output (cmake >= 3.18 and g++ or clang++ are needed).`,
    );
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    cached = require(found) as NativeBinding;
  } catch (err) {
    throw new NativeError(
      `the native addon at ${found} failed to load: ${(err as Error).message}. ` +
        `Rebuild it for this Node.js and CPU with 'npm run rebuild:native'.`,
      err,
    );
  }
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
