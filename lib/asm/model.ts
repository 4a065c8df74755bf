/**
 * The Active Shape Model: mean shape and principal components of a training set, the batched
 * Smooth-Face, and the ACR difficulty weights Phi. One float64 eigendecomposition serves every
 * variance level; only the number of components k changes.
 */
import { ArgumentError, ShapeError, ValueRangeError } from '../errors';
import { call } from '../binding';
import { asmMeanCov, asmPhi, asmSmooth, AsmDevice, AsmBasis, DEFAULT_PHI_EPSILON } from '../kernels/asm';
import * as v from '../validate';
import { checkFinite, ShapesInput, toShapeMatrix } from './shapes';

export const DEFAULT_VARIANCE_LEVELS: readonly number[] = [0.8, 0.85, 0.9, 0.95, 0.97];

/**
 * Slack on the cumulative variance fraction: levels reached up to rounding count as reached, so
 * that a spectrum whose fraction equals v exactly gives the same k on every machine.
 */
const LEVEL_TOLERANCE = 1e-12;

export interface FitAsmOptions {
  /** Variance levels the model is meant for (reported, checked); default [0.80, 0.85, 0.90, 0.95, 0.97]. */
  varianceLevels?: readonly number[];
  /** Landmarks per shape: required with flat typed arrays, checked otherwise. */
  numLandmarks?: number;
  /** Where the covariance runs: 'auto' (default: a GPU when present and N is large), 'cpu', 'cuda'. */
  device?: AsmDevice;
}

export interface AsmShapeOptions {
  /** Landmarks per shape; defaults to the model's. */
  numLandmarks?: number;
  device?: AsmDevice;
}

export interface AsmPhiOptions extends AsmShapeOptions {
  /** 'coordinate' (default, the paper's per-coordinate Phi) or 'landmark' (one value per point, shared by x and y). */
  mode?: 'coordinate' | 'landmark';
  /** Relative guard for faces that lie on their Smooth-Face (default 1e-7): their Phi is all 0. */
  epsilon?: number;
}

/** The saved form of a model (`JSON.stringify(model)`); float64 values are stored as JSON numbers, exactly. */
export interface AsmModelJSON {
  format: 'acr-asm';
  version: 1;
  numLandmarks: number;
  numSamples: number;
  varianceLevels: number[];
  mean: number[];
  eigenvalues: number[];
  /** D x D row-major, row i = unit eigenvector i. */
  components: number[];
}

export interface AsmModelFields {
  numLandmarks: number;
  numSamples: number;
  varianceLevels: readonly number[];
  mean: Float64Array;
  eigenvalues: Float64Array;
  components: Float64Array;
}

export class AsmModel {
  /** L: landmarks per shape (D = 2L coordinates). */
  readonly numLandmarks: number;
  /** N: shapes the model was fitted on. */
  readonly numSamples: number;
  readonly varianceLevels: readonly number[];
  /** Mean shape, D values [x0, y0, x1, y1, ...]. */
  readonly mean: Float64Array;
  /** Eigenvalues of the covariance (divided by N - 1), descending, D values (those at rounding level, negatives included, set to 0). */
  readonly eigenvalues: Float64Array;
  /** Unit eigenvectors, D x D row-major: row i belongs to eigenvalues[i] (sklearn's `components_` layout). */
  readonly components: Float64Array;

  /** Use `fitAsm` or `AsmModel.fromJSON`; the fields are taken as they are. */
  constructor(fields: AsmModelFields) {
    this.numLandmarks = fields.numLandmarks;
    this.numSamples = fields.numSamples;
    this.varianceLevels = Object.freeze([...fields.varianceLevels]);
    this.mean = fields.mean;
    this.eigenvalues = fields.eigenvalues;
    this.components = fields.components;
  }

  /** D = 2L. */
  get dimension(): number {
    return 2 * this.numLandmarks;
  }

  /** Share of the total variance explained by each component (sklearn's `explained_variance_ratio_`). */
  explainedVarianceRatio(): Float64Array {
    const total = this.eigenvalues.reduce((a, b) => a + b, 0);
    return this.eigenvalues.map((x) => (total > 0 ? x / total : 0));
  }

  /**
   * k for a variance level v in (0, 1]: the smallest k whose first k eigenvalues explain at least
   * v of the total variance (v = 1: every component with nonzero variance). Equals sklearn's
   * `PCA(n_components=v)` except when a cumulative fraction equals v exactly, where sklearn takes
   * one component more. 0 when all shapes are equal.
   */
  numComponents(level: number): number {
    const target = v.varianceLevel('level', level);
    const ev = this.eigenvalues;
    let total = 0;
    for (let i = 0; i < ev.length; i++) total += ev[i];
    if (!(total > 0)) return 0;
    const need = (target - LEVEL_TOLERANCE) * total;
    let sum = 0;
    for (let i = 0; i < ev.length; i++) {
      sum += ev[i];
      if (sum >= need) return i + 1;
    }
    return ev.length;
  }

  private basis(level: number): AsmBasis {
    return { mean: this.mean, components: this.components, eigenvalues: this.eigenvalues, k: this.numComponents(level) };
  }

  /**
   * Smooth-Face of each shape at variance level v: project on the first k components, clamp each
   * coefficient to +-3 sqrt(lambda_i), reconstruct. Returns N x D row-major values, a Float32Array
   * for Float32Array and tensor input, a Float64Array otherwise.
   */
  smooth(shapes: ShapesInput, level: number, options?: AsmShapeOptions): Float32Array | Float64Array {
    const opts = v.options<AsmShapeOptions>('options', options);
    const basis = this.basis(level);
    const m = toShapeMatrix('shapes', shapes, opts.numLandmarks, this.numLandmarks);
    return asmSmooth(m.data, m.n, m.d, basis, { device: opts.device });
  }

  /**
   * ACR difficulty weights at variance level v: per coordinate |s - smooth(s)| divided by its
   * maximum over the face (or per landmark, the Euclidean distance, written to x and y). In [0, 1],
   * max 1 per face; all 0 for a face on its Smooth-Face. Returns N x D values like `smooth`.
   */
  phi(shapes: ShapesInput, level: number, options?: AsmPhiOptions): Float32Array | Float64Array {
    const opts = v.options<AsmPhiOptions>('options', options);
    const basis = this.basis(level);
    const m = toShapeMatrix('shapes', shapes, opts.numLandmarks, this.numLandmarks);
    return asmPhi(m.data, m.n, m.d, basis, {
      mode: opts.mode,
      epsilon: opts.epsilon ?? DEFAULT_PHI_EPSILON,
      device: opts.device,
    });
  }

  toJSON(): AsmModelJSON {
    return {
      format: 'acr-asm',
      version: 1,
      numLandmarks: this.numLandmarks,
      numSamples: this.numSamples,
      varianceLevels: [...this.varianceLevels],
      mean: Array.from(this.mean),
      eigenvalues: Array.from(this.eigenvalues),
      components: Array.from(this.components),
    };
  }

  /** Rebuilds a model saved with `toJSON` (an object or its JSON text), validating every field. */
  static fromJSON(json: AsmModelJSON | string): AsmModel {
    let o: unknown = json;
    if (typeof json === 'string') {
      try {
        o = JSON.parse(json);
      } catch (err) {
        throw new ArgumentError(`json: expected the JSON text of an ASM model, got text that does not parse (${(err as Error).message})`);
      }
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ArgumentError(`json: expected an object, got ${v.describe(o)}`);
    const j = o as Record<string, unknown>;
    if (j.format !== 'acr-asm') throw new ArgumentError(`json.format: expected 'acr-asm', got ${v.describe(j.format)}`);
    if (j.version !== 1) throw new ArgumentError(`json.version: expected 1, got ${v.describe(j.version)}`);
    const numLandmarks = v.integer('json.numLandmarks', j.numLandmarks, 1, 2 ** 20);
    const numSamples = v.integer('json.numSamples', j.numSamples, 2, Number.MAX_SAFE_INTEGER);
    const d = 2 * numLandmarks;
    const levels = varianceLevels('json.varianceLevels', j.varianceLevels);
    const mean = numbers('json.mean', j.mean, d);
    const eigenvalues = numbers('json.eigenvalues', j.eigenvalues, d);
    const components = numbers('json.components', j.components, d * d);
    for (let i = 0; i < d; i++) {
      if (!(eigenvalues[i] >= 0)) throw new ValueRangeError(`json.eigenvalues: expected values >= 0, got ${eigenvalues[i]} at index ${i}`);
      if (i > 0 && eigenvalues[i] > eigenvalues[i - 1]) {
        throw new ValueRangeError(`json.eigenvalues: expected descending values, got ${eigenvalues[i - 1]} then ${eigenvalues[i]} at index ${i}`);
      }
    }
    checkOrthonormal('json.components', components, d);
    return new AsmModel({ numLandmarks, numSamples, varianceLevels: levels, mean, eigenvalues, components });
  }
}

function numbers(name: string, a: unknown, length: number): Float64Array {
  if (!Array.isArray(a)) throw new ArgumentError(`${name}: expected an array of ${length} numbers, got ${v.describe(a)}`);
  if (a.length !== length) throw new ShapeError(`${name}: expected ${length} numbers, got ${a.length}`);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const x = a[i] as unknown;
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new ValueRangeError(`${name}: expected finite numbers, got ${v.describe(x)} at index ${i}`);
    out[i] = x;
  }
  return out;
}

function varianceLevels(name: string, a: unknown): number[] {
  if (!Array.isArray(a) || a.length === 0) throw new ArgumentError(`${name}: expected a non-empty array of variance levels, got ${v.describe(a)}`);
  return a.map((x, i) => v.varianceLevel(`${name}[${i}]`, x));
}

/** Rows of c (d x d) must be orthonormal (a corrupted file fails here, not later in training). */
function checkOrthonormal(name: string, c: Float64Array, d: number): void {
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += c[i * d + t] * c[j * d + t];
      if (Math.abs(s - (i === j ? 1 : 0)) > 1e-6) {
        throw new ValueRangeError(`${name}: expected orthonormal rows, got a dot product of ${s} between rows ${i} and ${j}`);
      }
    }
  }
}

/**
 * Fits an Active Shape Model to N >= 2 training shapes: mean, covariance (float64, divided by
 * N - 1), and its full eigendecomposition (descending). The shapes may be number[][] (N x 2L),
 * number[][][] (N x L x 2), a row-major Float32Array/Float64Array with `numLandmarks`, or a
 * float32 tf.Tensor [N, 2L] / [N, L, 2].
 */
export function fitAsm(shapes: ShapesInput, options?: FitAsmOptions): AsmModel {
  const opts = v.options<FitAsmOptions>('options', options);
  const levels = varianceLevels('options.varianceLevels', opts.varianceLevels ?? DEFAULT_VARIANCE_LEVELS);
  const m = toShapeMatrix('shapes', shapes, opts.numLandmarks, undefined, false);
  if (m.n < 2) throw new ShapeError(`shapes: expected at least 2 shapes to fit a model, got ${m.n}`);
  const { mean, cov } = asmMeanCov(m.data, m.n, m.d, { device: opts.device });
  // NaN or Infinity anywhere reaches the mean: only then look for it (names row and column).
  if (!mean.every(Number.isFinite)) {
    checkFinite('shapes', m.data, m.d);
    throw new ValueRangeError('shapes: the values are too large: their sum overflows float64');
  }
  if (!cov.every(Number.isFinite)) throw new ValueRangeError('shapes: the values are too large: their covariance overflows float64');
  // In place: the kernel copies its input before writing, and a fresh D x D array costs page faults.
  const values = new Float64Array(m.d);
  const vectors = cov;
  call((b) => b.asmEigh(cov, m.d, values, vectors));
  // Variance at the level of rounding is no variance: identical shapes still leave ~1e-33 after
  // centring on a rounded mean. The floor (1e-14 of the coordinate scale, squared) is far below
  // any variation float32 or float64 data can express, and far above the rounding.
  let scale2 = 0;
  for (let j = 0; j < m.d; j++) scale2 = Math.max(scale2, mean[j] * mean[j], cov[j * m.d + j]);
  const floor = 1e-28 * scale2;
  for (let i = 0; i < values.length; i++) if (values[i] <= floor) values[i] = 0;
  return new AsmModel({ numLandmarks: m.d / 2, numSamples: m.n, varianceLevels: levels, mean, eigenvalues: values, components: vectors });
}
