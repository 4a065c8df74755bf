/**
 * Horizontal-flip permutations. After mirroring an image, the point that was the subject's
 * left eye corner sits where a right eye corner belongs, so landmark i of the flipped face is
 * the mirrored landmark perm[i]. A flip permutation must be an involution (flip twice = identity).
 */
import { ArgumentError, ShapeError } from '../errors';
import { describe } from '../validate';

type Pairs = ReadonlyArray<readonly [number, number]>;

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, k) => a + k);
}

/** Mirror pairs of a contour: first <-> last, second <-> second to last, ... */
function mirror(a: number, b: number): Array<[number, number]> {
  return range(a, b).filter((i) => i < a + b - i).map((i) => [i, a + b - i] as [number, number]);
}

function fromPairs(pairs: Pairs, n: number): readonly number[] {
  const perm = range(0, n - 1);
  for (const [i, j] of pairs) {
    perm[i] = j;
    perm[j] = i;
  }
  return Object.freeze(validateFlipPermutation(perm, n));
}

/** iBUG 68 (300-W): jaw 0-16, brows 17-21 / 22-26, nose 27-35, eyes 36-41 / 42-47, mouth 48-67. */
export const FLIP_68: readonly number[] = fromPairs(
  [
    ...mirror(0, 16),
    ...mirror(17, 26),
    ...mirror(31, 35),
    [36, 45], [37, 44], [38, 43], [39, 42], [40, 47], [41, 46],
    ...mirror(48, 54),
    ...mirror(55, 59),
    ...mirror(60, 64),
    ...mirror(65, 67),
  ],
  68,
);

/** WFLW 98: jaw 0-32, brows 33-41 / 42-50, nose 51-59, eyes 60-67 / 68-75, mouth 76-95, pupils 96/97. */
export const FLIP_98: readonly number[] = fromPairs(
  [
    ...mirror(0, 32),
    ...mirror(33, 46).slice(0, 5), // upper brow contours: 33-37 <-> 46-42
    [38, 50], [39, 49], [40, 48], [41, 47], // lower brow contours
    ...mirror(55, 59),
    ...mirror(60, 72).slice(0, 5), // eye contours: 60-64 <-> 72-68
    [65, 75], [66, 74], [67, 73],
    ...mirror(76, 82),
    ...mirror(83, 87),
    ...mirror(88, 92),
    [93, 95],
    [96, 97],
  ],
  98,
);

/** COFW 29: pairs (0,1) (2,3) (4,6) (5,7) (8,9) outer eye corners, (10,11) ... (22,23); 20, 21, 24-28 on the midline. */
export const FLIP_29: readonly number[] = fromPairs(
  [[0, 1], [2, 3], [4, 6], [5, 7], [8, 9], [10, 11], [12, 14], [13, 15], [16, 17], [18, 19], [22, 23]],
  29,
);

export type FlipScheme = 'ibug68' | 'wflw98' | 'cofw29';
const BUILT_IN: Record<FlipScheme, readonly number[]> = { ibug68: FLIP_68, wflw98: FLIP_98, cofw29: FLIP_29 };

/** Throws unless perm is a permutation of 0..n-1 that is its own inverse; returns a copy. */
export function validateFlipPermutation(perm: ArrayLike<number>, n: number): number[] {
  if (!perm || typeof perm !== 'object' || typeof perm.length !== 'number') throw new ArgumentError(`flipPermutation: expected an array of indices, got ${describe(perm)}`);
  if (perm.length !== n) throw new ShapeError(`flipPermutation: expected ${n} indices (one per landmark), got ${perm.length}`);
  const p = Array.from(perm);
  const seen = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const j = p[i];
    if (!Number.isInteger(j) || j < 0 || j >= n) throw new ArgumentError(`flipPermutation: index ${i} maps to ${describe(j)}, expected an integer in [0, ${n - 1}]`);
    if (seen[j]) throw new ArgumentError(`flipPermutation: ${j} appears twice, so it is not a permutation`);
    seen[j] = 1;
  }
  for (let i = 0; i < n; i++) {
    if (p[p[i]] !== i) throw new ArgumentError(`flipPermutation: ${i} -> ${p[i]} but ${p[i]} -> ${p[p[i]]}; a flip must swap pairs (be its own inverse)`);
  }
  return p;
}

/**
 * The flip permutation for a scheme name, a custom array (validated), or a landmark count
 * (68, 98, 29 have built-ins). Returns undefined for a count with no built-in.
 */
export function flipPermutation(spec: FlipScheme | number | ArrayLike<number>, numLandmarks?: number): number[] | undefined {
  if (typeof spec === 'string') {
    const p = BUILT_IN[spec as FlipScheme];
    if (!p) throw new ArgumentError(`flipPermutation: unknown scheme ${JSON.stringify(spec)}, expected one of ${Object.keys(BUILT_IN).join(', ')}`);
    if (numLandmarks !== undefined && p.length !== numLandmarks) throw new ShapeError(`flipPermutation: scheme ${spec} has ${p.length} points, the data has ${numLandmarks}`);
    return p.slice();
  }
  if (typeof spec === 'number') {
    const p = Object.values(BUILT_IN).find((q) => q.length === spec);
    return p ? p.slice() : undefined;
  }
  return validateFlipPermutation(spec, numLandmarks ?? spec.length);
}

/**
 * Mirrors points about the vertical line x = (width - 1) / 2 (pixel centres on integers) and
 * applies the permutation: out[i] = mirrored in[perm[i]].
 */
export function flipLandmarks(landmarks: ArrayLike<number>, perm: ArrayLike<number>, width: number): Float32Array {
  const n = landmarks.length / 2;
  if (perm.length !== n) throw new ShapeError(`flipPermutation: expected ${n} indices, got ${perm.length}`);
  const out = new Float32Array(landmarks.length);
  for (let i = 0; i < n; i++) {
    const j = perm[i];
    out[2 * i] = width - 1 - landmarks[2 * j];
    out[2 * i + 1] = landmarks[2 * j + 1];
  }
  return out;
}
