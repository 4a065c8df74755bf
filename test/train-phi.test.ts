import t from 'tap';
import { Rng } from '../lib/data/rng';
import { PhiLookup, mirrorShapes, similarityResidual } from '../lib/train/phi';
import type { FittedAsm } from '../lib/train/deps';

const L = 7;
const D = 2 * L;
const PERM = [1, 0, 2, 4, 3, 6, 5];

function similarity(shape: Float32Array, o: number, angle: number, scale: number, tx: number, ty: number): Float32Array {
  const out = new Float32Array(D);
  const c = Math.cos(angle) * scale;
  const s = Math.sin(angle) * scale;
  for (let i = 0; i < L; i++) {
    const x = shape[o + 2 * i], y = shape[o + 2 * i + 1];
    out[2 * i] = c * x - s * y + tx;
    out[2 * i + 1] = s * x + c * y + ty;
  }
  return out;
}

t.test('similarityResidual: 0 for similarity images, > 0 for mirror images', async (t) => {
  const rng = new Rng(3);
  const p = Float32Array.from({ length: D }, () => rng.uniform(-0.4, 0.4));
  t.ok(similarityResidual(p, similarity(p, 0, 0.4, 1.3, 0.1, -0.05), L) < 1e-10);
  t.ok(similarityResidual(p, mirrorShapes(p, [0, 1, 2, 3, 4, 5, 6]), L) > 1e-3, 'a reflection is no similarity');
  t.equal(similarityResidual(p, new Float32Array(D), L), 0, 'degenerate target');
});

t.test('mirrorShapes twice is the identity for an involutive permutation', async (t) => {
  const rng = new Rng(4);
  const p = Float32Array.from({ length: 3 * D }, () => rng.uniform(-0.4, 0.4));
  t.same(mirrorShapes(mirrorShapes(p, PERM), PERM), p);
});

t.test('PhiLookup picks the table of the orientation each batch sample has', async (t) => {
  const rng = new Rng(5);
  const n = 6;
  const targets = Float32Array.from({ length: n * D }, () => rng.uniform(-0.4, 0.4));
  const calls: number[] = [];
  // A stand-in ASM whose Phi encodes the input's first coordinate, so the chosen table is visible.
  const asm: FittedAsm = {
    phi: (shapes, level) => {
      calls.push(level);
      return Float32Array.from(shapes, (_, k) => shapes[k - (k % D)]);
    },
    toJSON: () => ({}),
  };
  const lookup = new PhiLookup(asm, targets, L, 'coordinate', PERM);
  const mirrored = mirrorShapes(targets, PERM);
  const indices = [4, 1, 3];
  const flips = [false, true, true];
  const batch = new Float32Array(indices.length * D);
  indices.forEach((r, i) => {
    const src = flips[i] ? mirrored : targets;
    batch.set(similarity(src, r * D, rng.uniform(-0.5, 0.5), rng.uniform(0.8, 1.2), rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1)), i * D);
  });
  const phi = lookup.forBatch(0.9, 0, indices, batch);
  indices.forEach((r, i) => t.equal(phi[i * D], (flips[i] ? mirrored : targets)[r * D], `sample ${i} flipped=${flips[i]}`));
  lookup.forBatch(0.9, 0, [0], batch.subarray(0, D));
  t.same(calls, [0.9, 0.9], 'tables are computed once per level (plain + mirrored)');
  const noFlip = new PhiLookup(asm, targets, L, 'coordinate', null);
  t.equal(noFlip.forBatch(0.8, 0, [1], batch.subarray(D, 2 * D))[0], targets[D], 'without flips the plain table is used');
});
