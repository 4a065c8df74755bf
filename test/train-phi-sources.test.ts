import t from 'tap';
import { fitAsm } from '../lib/asm';
import { alignShapes, applySimilarity, fitSimilarity, type Similarity } from '../lib/asm/procrustes';
import { Rng } from '../lib/data/rng';
import { AlignedPhi, PhiLookup, ShuffledPhi, type PhiSource } from '../lib/train/phi';
import { trainAsm } from '../lib/train/defaults';
import { maxAbsDiff, smoothRef } from './helpers/asm-ref';

const L = 12;
const D = 2 * L;

/** A face-like ring of L points with per-face shape variation (two modes + noise). */
function shapes(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * D);
  for (let r = 0; r < n; r++) {
    const open = rng.uniform(-0.05, 0.05);
    const wide = rng.uniform(0.8, 1.2);
    for (let i = 0; i < L; i++) {
      const a = (2 * Math.PI * i) / L;
      out[r * D + 2 * i] = 0.25 * wide * Math.cos(a) + rng.uniform(-0.004, 0.004);
      out[r * D + 2 * i + 1] = 0.3 * Math.sin(a) + (i > L / 2 ? open : 0) + rng.uniform(-0.004, 0.004);
    }
  }
  return out;
}

function transform(s: Float32Array, T: Similarity): Float32Array {
  const out = new Float32Array(s.length);
  for (let r = 0; r < s.length / D; r++) applySimilarity(T, s, L, out, r * D, r * D);
  return out;
}

const rot = (angle: number, scale: number, tx: number, ty: number): Similarity => [scale * Math.cos(angle), scale * Math.sin(angle), tx, ty];

t.test('fitSimilarity recovers a known similarity; degenerate shapes map to the centroid', async (t) => {
  const p = shapes(1, 1);
  const T = rot(0.7, 1.3, 0.1, -0.2);
  const fit = fitSimilarity(p, transform(p, T), L);
  t.ok(maxAbsDiff(fit, T) < 1e-6, `fit ${fit} vs ${T}`);
  const z = fitSimilarity(new Float32Array(D).fill(0.2), p, L);
  t.same([z[0], z[1]], [0, 0]);
});

t.test('alignShapes: poses removed, mean in the first shape\'s frame at the average size', async (t) => {
  const base = shapes(30, 2);
  const rng = new Rng(9);
  const posed = new Float32Array(base.length);
  for (let r = 0; r < 30; r++) applySimilarity(rot(rng.uniform(-0.6, 0.6), rng.uniform(0.7, 1.4), rng.uniform(-0.1, 0.1), 0), base, L, posed, r * D, r * D);
  const { aligned, mean } = alignShapes(posed, L);
  // Aligned posed shapes = aligned base shapes up to one common similarity.
  const again = alignShapes(base, L);
  for (let r = 0; r < 30; r++) {
    const a = aligned.subarray(r * D, (r + 1) * D);
    const T = fitSimilarity(again.aligned, mean, L, r * D, 0);
    const b = new Float64Array(D);
    applySimilarity(T, again.aligned, L, b, r * D, 0);
    t.ok(maxAbsDiff(a, b) < 0.02, `face ${r}: aligned shape independent of its pose (${maxAbsDiff(a, b)})`);
  }
  const residual = (x: ArrayLike<number>) => {
    let s = 0;
    for (let r = 0; r < 30; r++) for (let j = 0; j < D; j++) s += (x[r * D + j] - mean[j]) ** 2;
    return s;
  };
  t.ok(residual(aligned) < 0.05 * residual(posed), 'alignment removes most of the spread');
  const fit = fitSimilarity(posed, mean, L, 0, 0);
  t.ok(Math.abs(Math.atan2(fit[1], fit[0])) < 0.2, 'the mean keeps the first shape\'s orientation');
  t.same(alignShapes(new Float32Array(0), L).aligned.length, 0);
});

t.test('AlignedPhi = align + Smooth-Face (reference projection) + residual mapped back, / max', async (t) => {
  const train = shapes(200, 3);
  const { aligned, mean } = alignShapes(train, L);
  const fitted = trainAsm(Float32Array.from(aligned), L);
  const model = fitAsm(Float32Array.from(aligned), { numLandmarks: L });
  const src = new AlignedPhi(fitted, mean, L, 'coordinate');
  const batch = transform(shapes(5, 4), rot(0.4, 1.1, 0.05, -0.02));
  const phi = src.forBatch(0.9, 0, [0, 1, 2, 3, 4], batch);
  const k = model.numComponents(0.9);
  let worst = 0;
  for (let r = 0; r < 5; r++) {
    const T = fitSimilarity(batch, mean, L, r * D, 0);
    const al = new Float64Array(D);
    applySimilarity(T, batch, L, al, r * D, 0);
    const sm = smoothRef(al, { mean: model.mean, components: model.components, eigenvalues: model.eigenvalues, k });
    const dev = new Float64Array(D);
    const kk = T[0] ** 2 + T[1] ** 2;
    for (let i = 0; i < L; i++) {
      const rx = al[2 * i] - sm[2 * i], ry = al[2 * i + 1] - sm[2 * i + 1];
      dev[2 * i] = Math.abs((T[0] * rx + T[1] * ry) / kk);
      dev[2 * i + 1] = Math.abs((-T[1] * rx + T[0] * ry) / kk);
    }
    const top = Math.max(...dev);
    worst = Math.max(worst, maxAbsDiff(phi.subarray(r * D, (r + 1) * D), dev.map((x) => x / top)));
    t.equal(Math.max(...phi.subarray(r * D, (r + 1) * D)), 1, `face ${r}: its hardest coordinate has Phi 1`);
  }
  t.ok(worst < 1e-4, `matches the float64 reference (max diff ${worst})`);

  // Landmark mode measures the shape, not the pose: a rotated, scaled, moved face keeps its Phi.
  const lm = new AlignedPhi(fitted, mean, L, 'landmark');
  const face = shapes(1, 5);
  const a = lm.forBatch(0.9, 0, [0], face);
  const b = lm.forBatch(0.9, 0, [0], transform(face, rot(0.5, 0.8, 0.1, 0.1)));
  t.ok(maxAbsDiff(a, b) < 1e-3, `pose-invariant in landmark mode (${maxAbsDiff(a, b)})`);
  // Static Phi of the un-aligned model does change with the pose (what 'aligned' fixes).
  const plain = trainAsm(train, L);
  const pa = plain.phi(face, 0.9, 'landmark');
  const pb = plain.phi(transform(face, rot(0.5, 0.8, 0.1, 0.1)), 0.9, 'landmark');
  t.ok(maxAbsDiff(pa, pb) > 0.05, `the un-aligned ASM's Phi moves with the pose (${maxAbsDiff(pa, pb)})`);
  // A degenerate face (all points in one place): Phi 0, no NaN.
  t.same(Array.from(lm.forBatch(0.9, 0, [0], new Float32Array(D).fill(0.1))), new Array(D).fill(0));
});

t.test('ShuffledPhi: each face\'s own values, in a new order each epoch, reproducibly', async (t) => {
  const inner: PhiSource = { forBatch: (_l, _e, idx) => Float32Array.from({ length: idx.length * D }, (_, k) => Math.floor(k / D) + (k % D) / D) };
  for (const mode of ['coordinate', 'landmark'] as const) {
    const s = new ShuffledPhi(inner, L, mode, 7);
    const e0 = s.forBatch(0.9, 0, [3, 8], new Float32Array(2 * D));
    const e1 = s.forBatch(0.9, 1, [3, 8], new Float32Array(2 * D));
    const ref = inner.forBatch(0.9, 0, [3, 8], new Float32Array(2 * D));
    for (let r = 0; r < 2; r++) {
      const sorted = (x: Float32Array) => Array.from(x.subarray(r * D, (r + 1) * D)).sort((a, b) => a - b);
      t.same(sorted(e0), sorted(ref), `${mode}: row ${r} holds the face's own values`);
    }
    t.notSame(e0, ref, `${mode}: shuffled`);
    t.notSame(e0, e1, `${mode}: a new order each epoch`);
    t.same(s.forBatch(0.9, 0, [3, 8], new Float32Array(2 * D)), e0, `${mode}: reproducible`);
    if (mode === 'landmark') {
      let pairsKept = true;
      for (let i = 0; i < L; i++) pairsKept &&= Math.abs(e0[2 * i + 1] - e0[2 * i] - 1 / D) < 1e-6;
      t.ok(pairsKept, 'landmark mode moves whole points (x, y stay together)');
    }
  }
});

t.test('PhiLookup is a PhiSource (the epoch does not matter to it)', async (t) => {
  const train = shapes(40, 6);
  const lookup = new PhiLookup(trainAsm(train, L), train, L, 'coordinate', null);
  t.same(lookup.forBatch(0.9, 0, [1, 2], train.subarray(D, 3 * D)), lookup.forBatch(0.9, 5, [1, 2], train.subarray(D, 3 * D)));
});
