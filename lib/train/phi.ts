/**
 * Phi for ACR, three ways (config.phiSource):
 * - 'static' (PhiLookup): precomputed per variance level for every un-augmented training face, in
 *   both orientations when augmentation may mirror faces. Augmentation is a similarity transform
 *   plus an optional mirror, so which orientation a batch sample has is recovered from its
 *   targets: the table row whose shape maps onto the sample by a similarity (no reflection) with
 *   the smaller residual. The Phi of the face, not of the rotated shape actually trained on.
 * - 'aligned' (AlignedPhi): the ASM is fitted on Procrustes-aligned shapes; each augmented batch
 *   target is aligned to its mean, projected and clamped there, and the residual mapped back into
 *   the crop's frame. Follows the augmentation without measuring the pose.
 * - 'shuffled' (ShuffledPhi): the static values shuffled among each face's coordinates anew each
 *   epoch: the same distribution of weights with no ASM signal, the control for "does the ASM's
 *   difficulty carry information?".
 */
import { mixSeed, Rng } from '../data/rng';
import { applySimilarity, fitSimilarity } from '../asm/procrustes';
import type { FittedAsm, PhiTable } from './deps';
import type { PhiMode } from './config';

/** What the training loop asks of a Phi source, once per batch. */
export interface PhiSource {
  /** B x 2L Phi for a batch: `indices` into the training faces, `targets` the batch's (augmented) targets. */
  forBatch(level: number, epoch: number, indices: readonly number[], targets: Float32Array): Float32Array;
}

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
  const T = fitSimilarity(p, q, L, po, qo);
  const mapped = new Float64Array(2 * L);
  applySimilarity(T, p, L, mapped, po, 0);
  let qmx = 0, qmy = 0;
  for (let i = 0; i < L; i++) {
    qmx += q[qo + 2 * i] / L;
    qmy += q[qo + 2 * i + 1] / L;
  }
  let qq = 0, res = 0;
  for (let i = 0; i < L; i++) {
    const qx = q[qo + 2 * i], qy = q[qo + 2 * i + 1];
    qq += (qx - qmx) ** 2 + (qy - qmy) ** 2;
    res += (qx - mapped[2 * i]) ** 2 + (qy - mapped[2 * i + 1]) ** 2;
  }
  if (qq === 0) return 0;
  // A degenerate p maps to q's centroid: the residual is all of q's spread.
  return Math.max(0, res) / qq;
}

export class PhiLookup implements PhiSource {
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
  forBatch(level: number, _epoch: number, indices: readonly number[], batchTargets: Float32Array): Float32Array {
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

/** The static Phi of each face shuffled among its coordinates (or landmarks), anew each epoch. */
export class ShuffledPhi implements PhiSource {
  constructor(
    private readonly inner: PhiSource,
    private readonly numLandmarks: number,
    private readonly mode: PhiMode,
    private readonly seed: number,
  ) {}

  forBatch(level: number, epoch: number, indices: readonly number[], targets: Float32Array): Float32Array {
    const phi = this.inner.forBatch(level, epoch, indices, targets);
    const D = 2 * this.numLandmarks;
    const out = new Float32Array(phi.length);
    indices.forEach((face, r) => {
      const rng = new Rng(mixSeed(this.seed, 'phi-shuffle', epoch, face));
      if (this.mode === 'coordinate') {
        const perm = rng.shuffle([...Array(D).keys()]);
        for (let j = 0; j < D; j++) out[r * D + j] = phi[r * D + perm[j]];
      } else {
        // Per-landmark Phi is shared by x and y: move whole points.
        const perm = rng.shuffle([...Array(this.numLandmarks).keys()]);
        for (let i = 0; i < this.numLandmarks; i++) {
          out[r * D + 2 * i] = phi[r * D + 2 * perm[i]];
          out[r * D + 2 * i + 1] = phi[r * D + 2 * perm[i] + 1];
        }
      }
    });
    return out;
  }
}

/** Relative guard, as the native Phi: a face within this of its Smooth-Face gets Phi 0. */
const PHI_EPSILON = 1e-7;

/**
 * Phi of the augmented batch targets under an ASM fitted on Procrustes-aligned shapes (see
 * lib/asm/procrustes): align each target to the model's mean by a similarity, Smooth-Face in the
 * aligned frame (native batched projection), residual rotated and scaled back into the crop's
 * frame, then Phi as the native kernel defines it (per coordinate or per landmark, / max).
 */
export class AlignedPhi implements PhiSource {
  constructor(
    private readonly asm: FittedAsm,
    private readonly mean: Float64Array,
    private readonly numLandmarks: number,
    private readonly mode: PhiMode,
  ) {}

  forBatch(level: number, _epoch: number, _indices: readonly number[], targets: Float32Array): Float32Array {
    const L = this.numLandmarks;
    const D = 2 * L;
    const B = targets.length / D;
    const aligned = new Float64Array(targets.length);
    const transforms = [];
    for (let r = 0; r < B; r++) {
      const T = fitSimilarity(targets, this.mean, L, r * D, 0);
      applySimilarity(T, targets, L, aligned, r * D, r * D);
      transforms.push(T);
    }
    const smooth = this.asm.smooth(aligned, level);
    const out = new Float32Array(targets.length);
    const dev = new Float64Array(D);
    for (let r = 0; r < B; r++) {
      const [a, b] = transforms[r];
      const k = a * a + b * b;
      let scale = 0;
      for (let j = 0; j < D; j++) scale = Math.max(scale, Math.abs(targets[r * D + j]), Math.abs(this.mean[j]));
      if (!(k > 0)) continue; // all points coincide: no shape to measure, Phi 0
      let top = 0;
      for (let i = 0; i < L; i++) {
        const rx = aligned[r * D + 2 * i] - smooth[r * D + 2 * i];
        const ry = aligned[r * D + 2 * i + 1] - smooth[r * D + 2 * i + 1];
        // The inverse of the linear part [a -b; b a] is [a b; -b a] / (a^2 + b^2).
        const dx = (a * rx + b * ry) / k;
        const dy = (-b * rx + a * ry) / k;
        if (this.mode === 'coordinate') {
          dev[2 * i] = Math.abs(dx);
          dev[2 * i + 1] = Math.abs(dy);
        } else {
          dev[2 * i] = dev[2 * i + 1] = Math.hypot(dx, dy);
        }
        top = Math.max(top, dev[2 * i], dev[2 * i + 1]);
      }
      if (top <= PHI_EPSILON * scale) continue;
      for (let j = 0; j < D; j++) out[r * D + j] = dev[j] / top;
    }
    return out;
  }
}
