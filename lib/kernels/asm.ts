/**
 * Raw native calls of the Active Shape Model family on typed arrays, for users outside the
 * `fitAsm` / `AsmModel` API and for the benchmarks. Arguments are validated here (typed errors)
 * and every size is checked again natively. Matrices are row-major.
 */
import { AsmDevice, call } from '../binding';
import { ArgumentError, DTypeError, ShapeError } from '../errors';
import * as v from '../validate';

export type { AsmDevice };
export type AsmFloatArray = Float32Array | Float64Array;

/** A fitted shape basis as the kernels see it: the first `k` rows of `components` are used. */
export interface AsmBasis {
  /** Mean shape, d values. */
  mean: Float64Array;
  /** Unit eigenvectors as rows (at least k x d values). */
  components: Float64Array;
  /** Eigenvalues of those rows (at least k values). */
  eigenvalues: Float64Array;
  /** Number of components used, 0..d. */
  k: number;
}

export interface AsmKernelOptions {
  /** 'auto' (default) uses a GPU when one is present and the work is large; 'cuda' insists. */
  device?: AsmDevice;
}

export interface AsmSmoothKernelOptions<T extends AsmFloatArray> extends AsmKernelOptions {
  /** Where to write the result (n x d, same element type as x; may be x itself). Allocated when absent. */
  out?: T;
}

export interface AsmPhiKernelOptions<T extends AsmFloatArray> extends AsmSmoothKernelOptions<T> {
  /** 'coordinate' (default, the paper) or 'landmark' (Euclidean distance per point, shared by x and y). */
  mode?: 'coordinate' | 'landmark';
  /**
   * Relative guard (default 1e-7): a face whose largest deviation from its Smooth-Face is at most
   * epsilon times its coordinate scale (max |s_j|, max |mean_j|) gets Phi = 0 everywhere.
   */
  epsilon?: number;
}

const DEVICES = ['auto', 'cpu', 'cuda'] as const;
export const DEFAULT_PHI_EPSILON = 1e-7;

function dims(n: unknown, d: unknown, minN: number): [number, number] {
  return [v.integer('n', n, minN, 2 ** 31), v.integer('d', d, 1, 2 ** 31)];
}

function device(opts: AsmKernelOptions): AsmDevice {
  return opts.device === undefined ? 'auto' : v.oneOf('device', opts.device, DEVICES);
}

/** Mean (d) and covariance (d x d, divided by n - 1) of the n rows of x, accumulated in float64. */
export function asmMeanCov(
  x: AsmFloatArray,
  n: number,
  d: number,
  options?: AsmKernelOptions,
): { mean: Float64Array; cov: Float64Array; device: 'cpu' | 'cuda' } {
  const [rows, cols] = dims(n, d, 2);
  v.floatArray('x', x, rows * cols);
  const opts = v.options<AsmKernelOptions>('options', options);
  const mean = new Float64Array(cols);
  const cov = new Float64Array(cols * cols);
  const ran = call((b) => b.asmMeanCov(x, rows, cols, mean, cov, device(opts)));
  return { mean, cov, device: ran };
}

/**
 * Eigendecomposition of the symmetric part of a (n x n) in float64: eigenvalues descending,
 * unit eigenvectors as the ROWS of `vectors`, each with its largest-magnitude entry positive.
 */
export function asmEigh(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const size = v.integer('n', n, 1, 2 ** 20);
  v.float64Array('a', a, size * size);
  const values = new Float64Array(size);
  const vectors = new Float64Array(size * size);
  call((b) => b.asmEigh(a, size, values, vectors));
  return { values, vectors };
}

function basis(b: AsmBasis, d: number): AsmBasis {
  if (typeof b !== 'object' || b === null) throw new ArgumentError(`basis: expected an object, got ${v.describe(b)}`);
  v.float64Array('basis.mean', b.mean, d);
  const k = v.integer('basis.k', b.k, 0, d);
  v.float64Array('basis.components', b.components);
  v.float64Array('basis.eigenvalues', b.eigenvalues);
  if (b.components.length < k * d) {
    throw new ShapeError(`basis.components: expected at least k * d = ${k * d} values, got ${b.components.length}`);
  }
  if (b.eigenvalues.length < k) {
    throw new ShapeError(`basis.eigenvalues: expected at least k = ${k} values, got ${b.eigenvalues.length}`);
  }
  return b;
}

function output<T extends AsmFloatArray>(x: T, out: unknown, length: number): T {
  if (out === undefined) return (x instanceof Float64Array ? new Float64Array(length) : new Float32Array(length)) as T;
  const o = v.floatArray('out', out, length);
  if (o.constructor !== x.constructor) {
    throw new DTypeError(`out: expected a ${x.constructor.name} like x, got ${v.describe(out)}`);
  }
  return o as T;
}

/** Smooth-Face of each of the n rows of x: project on k components, clamp to +-3 sqrt(lambda), reconstruct. */
export function asmSmooth<T extends AsmFloatArray>(x: T, n: number, d: number, b: AsmBasis, options?: AsmSmoothKernelOptions<T>): T {
  const [rows, cols] = dims(n, d, 0);
  v.floatArray('x', x, rows * cols);
  basis(b, cols);
  const opts = v.options<AsmSmoothKernelOptions<T>>('options', options);
  const out = output(x, opts.out, rows * cols);
  const dev = device(opts);
  call((nb) => nb.asmSmooth(x, rows, cols, b.mean, b.components, b.eigenvalues, b.k, out, dev));
  return out;
}

/** ACR difficulty weights Phi of each of the n rows of x, in [0, 1] with max 1 per face. */
export function asmPhi<T extends AsmFloatArray>(x: T, n: number, d: number, b: AsmBasis, options?: AsmPhiKernelOptions<T>): T {
  const [rows, cols] = dims(n, d, 0);
  v.floatArray('x', x, rows * cols);
  basis(b, cols);
  const opts = v.options<AsmPhiKernelOptions<T>>('options', options);
  const mode = opts.mode === undefined ? 'coordinate' : v.oneOf('mode', opts.mode, ['coordinate', 'landmark'] as const);
  if (mode === 'landmark' && cols % 2 !== 0) {
    throw new ShapeError(`d: landmark mode needs (x, y) pairs, got an odd d = ${cols}`);
  }
  const epsilon = opts.epsilon === undefined ? DEFAULT_PHI_EPSILON : v.nonNegativeNumber('epsilon', opts.epsilon);
  const out = output(x, opts.out, rows * cols);
  const dev = device(opts);
  call((nb) => nb.asmPhi(x, rows, cols, b.mean, b.components, b.eigenvalues, b.k, mode, epsilon, out, dev));
  return out;
}
