/**
 * Phi for ACR, precomputed per variance level for every training face, in both orientations
 * when augmentation may mirror faces. Augmentation is a similarity transform plus an optional
 * mirror, so which orientation a batch sample has is recovered from its targets: the table row
 * whose shape maps onto the sample by a similarity (no reflection) with the smaller residual.
 */
import type { FittedAsm, PhiTable } from './deps';
import type { PhiMode } from './config';

/** Mirrored shapes in normalised coordinates: u_x -> -u_x, then landmark i takes point perm[i]. */
export function mirrorShapes(shapes: Float32Array, perm: readonly number[]): Float32Array {
  const L = perm.length;
  const out = new Float32Array(shapes.length);
  for (let r = 0; r < shapes.length / (2 * L); r++) {
    const o = r * 2 * L;
    for (let i = 0; i < L; i++) {
      out[o + 2 * i] = -shapes[o + 2 * perm[i]];
      out[o + 2 * i + 1] = shapes[o + 2 * perm[i] + 1];
    }
  }
  return out;
}

/**
 * Residual of the best similarity (rotation, scale, translation; no reflection) mapping shape
 * `p` onto `q` (each 2L values), relative to q's spread. 0 when q is a similarity image of p.
 */
export function similarityResidual(p: ArrayLike<number>, q: ArrayLike<number>, L: number, po = 0, qo = 0): number {
  let pmx = 0, pmy = 0, qmx = 0, qmy = 0;
  for (let i = 0; i < L; i++) {
    pmx += p[po + 2 * i]; pmy += p[po + 2 * i + 1];
    qmx += q[qo + 2 * i]; qmy += q[qo + 2 * i + 1];
  }
  pmx /= L; pmy /= L; qmx /= L; qmy /= L;
  // Complex least squares: q ~ a p with a = sum(conj(p) q) / sum |p|^2.
  let pp = 0, qq = 0, re = 0, im = 0;
  for (let i = 0; i < L; i++) {
    const px = p[po + 2 * i] - pmx, py = p[po + 2 * i + 1] - pmy;
    const qx = q[qo + 2 * i] - qmx, qy = q[qo + 2 * i + 1] - qmy;
    pp += px * px + py * py;
    qq += qx * qx + qy * qy;
    re += px * qx + py * qy;
    im += px * qy - py * qx;
  }
  if (qq === 0) return 0;
  if (pp === 0) return 1;
  return Math.max(0, qq - (re * re + im * im) / pp) / qq;
}

export class PhiLookup {
  private readonly tables = new Map<number, { plain: PhiTable; mirrored: PhiTable | null }>();
  private readonly mirroredTargets: Float32Array | null;
  private readonly D: number;

  constructor(
    private readonly asm: FittedAsm,
    private readonly targets: Float32Array,
    private readonly numLandmarks: number,
    private readonly mode: PhiMode,
    private readonly flipPermutation: readonly number[] | null,
  ) {
    this.D = 2 * numLandmarks;
    this.mirroredTargets = flipPermutation ? mirrorShapes(targets, flipPermutation) : null;
  }

  /** The tables of one level (computed on first use, then kept: one per level of the schedule). */
  level(level: number): { plain: PhiTable; mirrored: PhiTable | null } {
    let t = this.tables.get(level);
    if (!t) {
      t = {
        plain: this.asm.phi(this.targets, level, this.mode),
        mirrored: this.mirroredTargets ? this.asm.phi(this.mirroredTargets, level, this.mode) : null,
      };
      this.tables.set(level, t);
    }
    return t;
  }

  /** B x 2L Phi for a batch: rows `indices`, each in the orientation its batch target has. */
  forBatch(level: number, indices: readonly number[], batchTargets: Float32Array): Float32Array {
    const { plain, mirrored } = this.level(level);
    const D = this.D;
    const out = new Float32Array(indices.length * D);
    indices.forEach((r, i) => {
      let table = plain;
      if (mirrored && this.mirroredTargets) {
        const straight = similarityResidual(this.targets, batchTargets, this.numLandmarks, r * D, i * D);
        const flipped = similarityResidual(this.mirroredTargets, batchTargets, this.numLandmarks, r * D, i * D);
        if (flipped < straight) table = mirrored;
      }
      out.set(table.subarray(r * D, (r + 1) * D), i * D);
    });
    return out;
  }
}
