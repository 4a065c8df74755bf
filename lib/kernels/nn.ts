/**
 * Raw access to the native SGEMM for callers outside tfjs (tests, benchmarks, custom ops).
 * Row-major matrices; arguments are validated here and sizes are checked again natively.
 */
import { call } from '../binding';
import { ShapeError } from '../errors';
import * as v from '../validate';

export type GemmActivation = 'linear' | 'relu' | 'relu6' | 'leakyrelu' | 'elu' | 'sigmoid';
export const ACTIVATION_CODES: Record<GemmActivation, number> = {
  linear: 0, relu: 1, relu6: 2, leakyrelu: 3, elu: 4, sigmoid: 5,
};

export interface GemmOptions {
  /** a is stored K x M (op(a) = a^T). */
  transposeA?: boolean;
  /** b is stored N x K (op(b) = b^T). */
  transposeB?: boolean;
  /** Per-column bias of length N, added before the activation. */
  bias?: Float32Array;
  activation?: GemmActivation;
  /** Slope for 'leakyrelu' (default 0.2). */
  alpha?: number;
}

/** c = act(op(a) [M x K] * op(b) [K x N] + bias), a new Float32Array of M*N. */
export function sgemm(a: Float32Array, b: Float32Array, m: number, n: number, k: number, options?: GemmOptions): Float32Array {
  const opts = v.options<GemmOptions>('options', options);
  v.integer('m', m, 0, 2 ** 31);
  v.integer('n', n, 0, 2 ** 31);
  v.integer('k', k, 0, 2 ** 31);
  v.float32Array('a', a);
  v.float32Array('b', b);
  if (a.length !== m * k) throw new ShapeError(`a: expected ${m * k} elements (m*k), got ${a.length}`);
  if (b.length !== k * n) throw new ShapeError(`b: expected ${k * n} elements (k*n), got ${b.length}`);
  const activation = opts.activation ?? 'linear';
  v.oneOf('activation', activation, Object.keys(ACTIVATION_CODES) as GemmActivation[]);
  const alpha = v.finiteNumber('alpha', opts.alpha ?? 0.2);
  if (opts.bias !== undefined) {
    v.float32Array('bias', opts.bias);
    if (opts.bias.length !== n) throw new ShapeError(`bias: expected ${n} elements (n), got ${opts.bias.length}`);
  }
  const c = new Float32Array(m * n);
  call((x) => x.nnMatMul(a, b, opts.bias ?? null, c, [1, 1, m, n, k], !!opts.transposeA, !!opts.transposeB,
    ACTIVATION_CODES[activation], alpha));
  return c;
}

/**
 * At the AVX-512 level the addon measures its AVX-512 and AVX2 micro-kernels once and keeps
 * the faster (on AMD Zen 4, which splits 512-bit FMAs, that is AVX2). 'avx512' or 'avx2'
 * forces one (tests, benchmarks); 'auto' restores the measurement. Returns the kernel name.
 */
export function setGemmKernel(choice: 'auto' | 'avx512' | 'avx2'): string {
  v.oneOf('choice', choice, ['auto', 'avx512', 'avx2'] as const);
  return call((x) => x.nnGemmForceAvx512Kernel({ auto: 0, avx512: 1, avx2: 2 }[choice]));
}

/** Name of the GEMM micro-kernel the current ISA selects ('avx512-14x32', 'avx2-6x16', 'scalar-4x8'). */
export function gemmKernelName(): string {
  return call((x) => x.nnGemmKernel());
}
