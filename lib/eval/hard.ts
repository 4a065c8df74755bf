/**
 * Hard-face subsets for evaluation, computed from ground truth only, so every model is scored on
 * the same faces: the faces farthest from their Smooth-Face (the ACR paper's notion of difficulty)
 * or with the largest head yaw.
 */
import type { AsmModel } from '../asm/model';
import { ArgumentError, ShapeError } from '../errors';
import { describe, finiteNumber, integer, varianceLevel } from '../validate';

/** 68-point (300-W / iBUG) indices used by the yaw proxy. */
export const YAW_POINTS_68 = Object.freeze({ noseTip: 30, jaw: [0, 16] as const, eyeCorners: [36, 45] as const });

function shapeRows(name: string, shapes: ArrayLike<number>, numLandmarks: number): number {
  const L = integer('numLandmarks', numLandmarks, 1, 2 ** 20);
  if (shapes === null || typeof shapes !== 'object' || typeof shapes.length !== 'number') {
    throw new ArgumentError(`${name}: expected an N x ${2 * L} array of coordinates, got ${describe(shapes)}`);
  }
  if (shapes.length % (2 * L) !== 0) throw new ShapeError(`${name}: expected a multiple of ${2 * L} values (N x 2L), got ${shapes.length}`);
  for (let i = 0; i < shapes.length; i++) {
    if (!Number.isFinite(shapes[i])) throw new ArgumentError(`${name}[${i}]: expected a finite number, got ${describe(shapes[i])}`);
  }
  return shapes.length / (2 * L);
}

/**
 * Mean landmark distance between each shape and its Smooth-Face at variance level `level`
 * (`asm.smooth`: projection on the first k components with clamped coefficients). Shapes must be
 * in the normalisation the ASM was fitted in (for a training run: crop coordinates, u = x/size - 0.5).
 */
export function smoothFaceDistance(asm: AsmModel, shapes: ArrayLike<number>, level = 0.97): Float64Array {
  const lv = varianceLevel('level', level);
  const L = asm.numLandmarks;
  const n = shapeRows('shapes', shapes, L);
  const data = Float64Array.from(shapes as ArrayLike<number>);
  const out = new Float64Array(n);
  if (n === 0) return out;
  const smooth = asm.smooth(data, lv, { numLandmarks: L });
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < L; j++) {
      const o = i * 2 * L + 2 * j;
      sum += Math.hypot(data[o] - smooth[o], data[o + 1] - smooth[o + 1]);
    }
    out[i] = sum / L;
  }
  return out;
}

/** Position of p along the segment a -> b: 0 at a, 1 at b, 0.5 at its middle (projection). */
function along(s: ArrayLike<number>, o: number, p: number, a: number, b: number): number {
  const ax = s[o + 2 * a], ay = s[o + 2 * a + 1];
  const dx = s[o + 2 * b] - ax, dy = s[o + 2 * b + 1] - ay;
  const len2 = dx * dx + dy * dy;
  if (!(len2 > 0)) return 0.5;
  return ((s[o + 2 * p] - ax) * dx + (s[o + 2 * p + 1] - ay) * dy) / len2;
}

/**
 * Head-yaw proxy of 68-point shapes (image coordinates or any similarity transform of them):
 * where the nose tip (30) falls along the line from one face side to the other, measured twice, on
 * the jaw ends (0 -> 16) and on the outer eye corners (36 -> 45), each as 2t - 1 (0 when the nose
 * is in the middle, +-1 when it is over one side), averaged. Signed: positive when the nose is
 * nearer landmark 16/45 (the subject's left). Invariant to translation, scale and roll; a proxy,
 * not a calibrated angle (a frontal face with an asymmetric jaw reads slightly off 0).
 */
export function yawProxy(shapes: ArrayLike<number>, numLandmarks = 68): Float64Array {
  if (numLandmarks !== 68) throw new ArgumentError(`numLandmarks: the yaw proxy is defined for the 68-point layout, got ${describe(numLandmarks)}`);
  const n = shapeRows('shapes', shapes, numLandmarks);
  const { noseTip, jaw, eyeCorners } = YAW_POINTS_68;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * 2 * numLandmarks;
    const tj = along(shapes, o, noseTip, jaw[0], jaw[1]);
    const te = along(shapes, o, noseTip, eyeCorners[0], eyeCorners[1]);
    out[i] = (2 * tj - 1 + (2 * te - 1)) / 2;
  }
  return out;
}

/**
 * Indices of the `fraction` of items with the largest scores (at least one when there are any),
 * largest first; ties go to the lower index, so the subset is deterministic.
 */
export function hardestIndices(scores: ArrayLike<number>, fraction = 0.25): number[] {
  const f = finiteNumber('fraction', fraction);
  if (!(f > 0 && f <= 1)) throw new ArgumentError(`fraction: expected a number in (0, 1], got ${f}`);
  const n = scores.length;
  for (let i = 0; i < n; i++) if (!Number.isFinite(scores[i])) throw new ArgumentError(`scores[${i}]: expected a finite number, got ${describe(scores[i])}`);
  if (n === 0) return [];
  const k = Math.max(1, Math.round(n * f));
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  return order.slice(0, k);
}

/** Mean of `errors` over `indices` (e.g. per-image NME over a hard subset); NaN when empty. */
export function subsetMean(errors: ArrayLike<number>, indices: readonly number[]): number {
  if (indices.length === 0) return NaN;
  let s = 0;
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= errors.length) throw new ArgumentError(`indices: ${describe(i)} is not an index into ${errors.length} errors`);
    s += errors[i];
  }
  return s / indices.length;
}
