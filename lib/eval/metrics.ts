/**
 * Face-alignment metrics as the field reports them: NME per image with an explicit normaliser,
 * mean NME in %, failure rate FR@t, AUC@t of the cumulative error distribution (CED), and the
 * CED curve. AUC is computed exactly: the CED is a step function, so its integral over [0, t]
 * is sum_i max(0, t - e_i) / N, no sampling of thresholds.
 */
import { ArgumentError, ShapeError, ValueRangeError } from '../errors';
import { describe, finiteNumber, integer, options as opts } from '../validate';

/** 'inter-ocular': outer eye corners; 'inter-pupil': eye centres; 'box-diagonal': ground-truth landmark box diagonal. */
export type NormaliserKind = 'inter-ocular' | 'inter-pupil' | 'box-diagonal';

export type Normaliser =
  | NormaliserKind
  | { kind: 'inter-ocular'; points?: [number, number] }
  | { kind: 'inter-pupil'; left?: number[]; right?: number[] }
  | { kind: 'box-diagonal' };

/** Outer eye corners per scheme: 300-W 36/45, WFLW 60/72, COFW 8/9. */
export const INTER_OCULAR: Readonly<Record<number, [number, number]>> = Object.freeze({ 68: [36, 45], 98: [60, 72], 29: [8, 9] });

/** Eye-centre points per scheme: 300-W mean of 36-41 / 42-47, WFLW pupils 96 / 97. */
export const INTER_PUPIL: Readonly<Record<number, [number[], number[]]>> = Object.freeze({
  68: [[36, 37, 38, 39, 40, 41], [42, 43, 44, 45, 46, 47]],
  98: [[96], [97]],
});

type Resolved = { name: string; left: number[]; right: number[] } | { name: 'box-diagonal' };

function checkIdx(name: string, idx: number[], L: number): number[] {
  if (!Array.isArray(idx) || idx.length === 0) throw new ArgumentError(`${name}: expected a non-empty array of landmark indices, got ${describe(idx)}`);
  idx.forEach((i) => integer(name, i, 0, L - 1));
  return idx;
}

/** Resolves a normaliser for L landmarks (throws when the scheme has no default). */
export function resolveNormaliser(n: Normaliser, L: number): Resolved {
  const spec = typeof n === 'string' ? ({ kind: n } as Exclude<Normaliser, string>) : n;
  if (!spec || typeof spec !== 'object') throw new ArgumentError(`normaliser: expected 'inter-ocular', 'inter-pupil', 'box-diagonal' or { kind, ... }, got ${describe(n)}`);
  switch (spec.kind) {
    case 'inter-ocular': {
      const pts = spec.points ?? INTER_OCULAR[L];
      if (!pts) throw new ArgumentError(`normaliser: no default outer eye corners for ${L} landmarks; pass { kind: 'inter-ocular', points: [i, j] }`);
      checkIdx('normaliser.points', pts, L);
      if (pts.length !== 2) throw new ArgumentError(`normaliser.points: expected two indices, got ${pts.length}`);
      return { name: `inter-ocular(${pts[0]},${pts[1]})`, left: [pts[0]], right: [pts[1]] };
    }
    case 'inter-pupil': {
      const def = INTER_PUPIL[L];
      const left = spec.left ?? def?.[0];
      const right = spec.right ?? def?.[1];
      if (!left || !right) throw new ArgumentError(`normaliser: no default eye centres for ${L} landmarks; pass { kind: 'inter-pupil', left: [...], right: [...] }`);
      checkIdx('normaliser.left', left, L);
      checkIdx('normaliser.right', right, L);
      return { name: 'inter-pupil', left, right };
    }
    case 'box-diagonal':
      return { name: 'box-diagonal' };
    default:
      throw new ArgumentError(`normaliser.kind: expected 'inter-ocular', 'inter-pupil' or 'box-diagonal', got ${describe((spec as { kind: unknown }).kind)}`);
  }
}

function mean(gt: ArrayLike<number>, base: number, idx: number[]): [number, number] {
  let x = 0, y = 0;
  for (const i of idx) {
    x += gt[base + 2 * i];
    y += gt[base + 2 * i + 1];
  }
  return [x / idx.length, y / idx.length];
}

/** The normalising distance of each ground-truth face (N values). */
export function normalisingDistances(gt: ArrayLike<number>, numLandmarks: number, normaliser: Normaliser): Float64Array {
  const L = integer('numLandmarks', numLandmarks, 1);
  if (gt.length % (2 * L) !== 0) throw new ShapeError(`gt: expected N x ${2 * L} values, got ${gt.length}`);
  const N = gt.length / (2 * L);
  const r = resolveNormaliser(normaliser, L);
  const d = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const base = n * 2 * L;
    if (r.name === 'box-diagonal') {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (let k = 0; k < L; k++) {
        const x = gt[base + 2 * k], y = gt[base + 2 * k + 1];
        x0 = Math.min(x0, x); x1 = Math.max(x1, x);
        y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
      d[n] = Math.hypot(x1 - x0, y1 - y0);
    } else {
      const [lx, ly] = mean(gt, base, (r as { left: number[] }).left);
      const [rx, ry] = mean(gt, base, (r as { right: number[] }).right);
      d[n] = Math.hypot(rx - lx, ry - ly);
    }
    if (!(d[n] > 0)) throw new ValueRangeError(`gt: face ${n} has a zero normalising distance (${r.name})`);
  }
  return d;
}

/**
 * NME of each face: mean point-to-point distance divided by the face's normalising distance
 * (a fraction; multiply by 100 for %). pred and gt are N x 2L in the same coordinates.
 */
export function nmePerImage(pred: ArrayLike<number>, gt: ArrayLike<number>, numLandmarks: number, normaliser: Normaliser): Float64Array {
  if (pred.length !== gt.length) throw new ShapeError(`pred: expected ${gt.length} values like gt, got ${pred.length}`);
  for (let i = 0; i < pred.length; i++) {
    if (!Number.isFinite(pred[i])) throw new ValueRangeError(`pred: non-finite value ${describe(pred[i])} at index ${i}`);
    if (!Number.isFinite(gt[i])) throw new ValueRangeError(`gt: non-finite value ${describe(gt[i])} at index ${i}`);
  }
  const d = normalisingDistances(gt, numLandmarks, normaliser);
  const L = numLandmarks;
  const out = new Float64Array(d.length);
  for (let n = 0; n < d.length; n++) {
    let s = 0;
    for (let k = 0; k < L; k++) {
      const j = n * 2 * L + 2 * k;
      s += Math.hypot(pred[j] - gt[j], pred[j + 1] - gt[j + 1]);
    }
    out[n] = s / L / d[n];
  }
  return out;
}

function checkErrors(errors: ArrayLike<number>): void {
  if (errors.length === 0) throw new ShapeError('errors: expected at least one per-image NME, got none');
  for (let i = 0; i < errors.length; i++) {
    if (!(errors[i] >= 0) || !Number.isFinite(errors[i])) throw new ValueRangeError(`errors: expected finite values >= 0, got ${describe(errors[i])} at index ${i}`);
  }
}

/** Share of faces whose NME exceeds the threshold (a fraction). */
export function failureRate(errors: ArrayLike<number>, threshold = 0.1): number {
  checkErrors(errors);
  let f = 0;
  for (let i = 0; i < errors.length; i++) if (errors[i] > threshold) f++;
  return f / errors.length;
}

/** Exact area under the CED over [0, t], divided by t: mean over faces of max(0, t - e) / t. */
export function aucAt(errors: ArrayLike<number>, threshold = 0.1): number {
  checkErrors(errors);
  const t = finiteNumber('threshold', threshold);
  if (!(t > 0)) throw new ValueRangeError(`threshold: expected a number > 0, got ${t}`);
  let s = 0;
  for (let i = 0; i < errors.length; i++) s += Math.max(0, t - errors[i]);
  return s / (errors.length * t);
}

export interface CedCurve {
  /** Error values (fractions) in increasing order, from 0 to the threshold. */
  x: number[];
  /** Share of faces with NME <= x (right-continuous step function). */
  y: number[];
}

/**
 * The CED as the exact step function on [0, t]: one point at 0, one at every distinct error
 * below t (where the curve jumps) and one at t. Draw it as steps (horizontal, then vertical).
 */
export function cedCurve(errors: ArrayLike<number>, threshold = 0.1): CedCurve {
  checkErrors(errors);
  const sorted = Float64Array.from(errors).sort();
  const N = sorted.length;
  const x: number[] = [0];
  const y: number[] = [];
  let i = 0;
  while (i < N && sorted[i] <= 0) i++;
  y.push(i / N);
  while (i < N && sorted[i] <= threshold) {
    const e = sorted[i];
    while (i < N && sorted[i] === e) i++;
    x.push(e);
    y.push(i / N);
  }
  if (x[x.length - 1] !== threshold) {
    x.push(threshold);
    y.push(y[y.length - 1]);
  }
  return { x, y };
}

export interface EvaluateOptions {
  normaliser: Normaliser;
  /** FR and AUC threshold on the NME. Default 0.1. */
  threshold?: number;
}

export interface EvaluationSummary {
  count: number;
  normaliser: string;
  threshold: number;
  /** Mean NME in %. */
  nme: number;
  /** Median NME in %. */
  medianNme: number;
  /** FR@threshold in %. */
  failureRate: number;
  /** AUC@threshold in [0, 1]. */
  auc: number;
}

export interface Evaluation {
  summary: EvaluationSummary;
  /** Per-face NME (fractions). */
  perImage: Float64Array;
  ced: CedCurve;
}

/** Mean / median NME, FR and AUC of a list of per-face NMEs (fractions in, % out). */
export function summarise(errors: ArrayLike<number>, threshold = 0.1): Omit<EvaluationSummary, 'normaliser'> {
  checkErrors(errors);
  const sorted = Float64Array.from(errors).sort();
  const N = sorted.length;
  const median = N % 2 ? sorted[(N - 1) / 2] : (sorted[N / 2 - 1] + sorted[N / 2]) / 2;
  let sum = 0;
  for (const e of sorted) sum += e;
  return {
    count: N,
    threshold,
    nme: (100 * sum) / N,
    medianNme: 100 * median,
    failureRate: 100 * failureRate(errors, threshold),
    auc: aucAt(errors, threshold),
  };
}

/** summarise() for named subsets of the faces (e.g. WFLW attribute subsets, 300-W sources). */
export function subsetSummaries(errors: ArrayLike<number>, subsets: Record<string, number[]>, threshold = 0.1): Record<string, Omit<EvaluationSummary, 'normaliser'>> {
  const out: Record<string, Omit<EvaluationSummary, 'normaliser'>> = {};
  for (const [name, idx] of Object.entries(subsets)) {
    if (idx.length === 0) continue;
    idx.forEach((i) => integer(`subsets.${name}`, i, 0, errors.length - 1));
    out[name] = summarise(idx.map((i) => errors[i]), threshold);
  }
  return out;
}

/** All metrics at once for N faces (pred and gt N x 2L in the same coordinates). */
export function evaluate(pred: ArrayLike<number>, gt: ArrayLike<number>, numLandmarks: number, options: EvaluateOptions): Evaluation {
  const o = opts<EvaluateOptions>('options', options);
  if (o.normaliser === undefined) throw new ArgumentError(`options.normaliser: required ('inter-ocular', 'inter-pupil', 'box-diagonal' or { kind, ... })`);
  const t = finiteNumber('options.threshold', o.threshold ?? 0.1);
  const perImage = nmePerImage(pred, gt, numLandmarks, o.normaliser);
  const s = summarise(perImage, t);
  return {
    summary: { ...s, normaliser: resolveNormaliser(o.normaliser, numLandmarks).name },
    perImage,
    ced: cedCurve(perImage, t),
  };
}
